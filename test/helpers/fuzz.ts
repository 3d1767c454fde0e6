/**
 * What the fuzz suites share: fast-check settings, structure-aware inputs for every frame
 * kind of every codec, and the checks every input must pass (Object.prototype untouched,
 * handlers given plain data). The inputs lean on what broke servers before: JSON nested far
 * past `maxJsonDepth` (thousands of levels), huge numbers, long strings, `__proto__` /
 * `constructor` / `prototype` keys, and frame lengths that lie.
 */
import fc from 'fast-check';

/**
 * fast-check parameters shared by the fuzz suites. `SWITCHYARD_FUZZ_SEED` reproduces a run
 * (fast-check prints the seed and path of a failure); `SWITCHYARD_FUZZ_RUNS` scales every
 * property's run count (1 = the bounded default used by `npm test`).
 */
export function fuzzParameters<T>(numRuns: number): fc.Parameters<T> {
  const seed = process.env.SWITCHYARD_FUZZ_SEED;
  const scale = Number(process.env.SWITCHYARD_FUZZ_RUNS ?? '1');
  return {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    endOnFailure: true,
  };
}

// ── JSON text ─────────────────────────────────────────────────────────────────────────

/** Keys that pollute a prototype when a careless merge copies them. */
export const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Depths around every bound: the default 64, a stack frame's worth, far past the call stack. */
const depth = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(63, 64, 65, 100) },
  { weight: 4, arbitrary: fc.integer({ min: 65, max: 2_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 2_000, max: 12_000 }) },
);

/** One level of nesting: its opening and its closing. */
const level = fc.constantFrom(['[', ']'], ['{"a":', '}'], ['{"__proto__":', '}'], ['[0,', ']'], ['{"":[', ']}']);

/** JSON nested `depth` levels deep (as text: nothing walks it before the server does). */
export const deepJsonText: fc.Arbitrary<string> = fc
  .tuple(depth, fc.array(level, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([levels, kinds, isBalanced]) => {
    let open = '';
    let close = '';
    for (let i = 0; i < levels; i++) {
      const [o, c] = kinds[i % kinds.length]!;
      open += o;
      close = c + close;
    }
    // Unbalanced: the brackets never close (or a string never ends) — still no deeper walk.
    return isBalanced ? open + 'null' + close : open;
  });

/** Numbers JSON allows but a double does not hold, and their near relatives. */
export const hugeNumberText = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '9007199254740993', '0.1e99999', '1E+308', '123456789e-5000'),
  fc.integer({ min: 20, max: 5_000 }).map((digits) => '9'.repeat(digits)),
  fc.integer({ min: 20, max: 2_000 }).map((digits) => '-0.' + '0'.repeat(digits) + '1'),
);

/** A JSON string literal of 1 000 to 200 000 characters, escapes included. */
export const longStringText = fc
  .tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('x', 'é', '😀', '\\"', '\\u0000', '\\ud800', '['))
  .map(([length, unit]) => '"' + unit.repeat(Math.ceil(length / unit.length)) + '"');

/** An object whose keys would pollute a prototype if merged carelessly, at some depth. */
export const pollutingJsonText = fc
  .tuple(fc.constantFrom(...POLLUTING_KEYS), fc.integer({ min: 0, max: 3 }), fc.boolean())
  .map(([key, nesting, viaConstructor]) => {
    const payload = viaConstructor ? '{"prototype":{"polluted":"yes"}}' : '{"polluted":"yes","toString":1}';
    let text = `{"${key}":${payload},"${key}x":1}`;
    for (let i = 0; i < nesting; i++) text = `{"__proto__":${text},"constructor":${text}}`;
    return text;
  });

/** Ordinary JSON with every structural feature, small. */
const ordinaryJsonText = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value));

/** JSON text a server must survive: deep, huge, long, polluting, ordinary, or broken. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: deepJsonText },
  { weight: 2, arbitrary: hugeNumberText },
  { weight: 1, arbitrary: longStringText },
  { weight: 3, arbitrary: pollutingJsonText },
  { weight: 3, arbitrary: ordinaryJsonText },
  { weight: 2, arbitrary: fc.tuple(ordinaryJsonText, fc.nat()).map(([text, cut]) => text.slice(0, cut % text.length)) },
);

/** `{"event": name, "data": <hostile>}`: the 0.6 event convention, to a handled event or not. */
export const eventJsonText = fc
  .tuple(fc.constantFrom('chat', 'echo', ...POLLUTING_KEYS, 'hasOwnProperty', 'none'), hostileJsonText)
  .map(([event, data]) => `{"event":${JSON.stringify(event)},"data":${data}}`);

// ── Frames of every codec ─────────────────────────────────────────────────────────────

/** A declared length that lies: too short, too long, absurd, not a number. */
const lyingLength = (actual: number) =>
  fc.oneof(
    fc.integer({ min: 1, max: 5 }).map((d) => String(Math.max(0, actual - d))),
    fc.integer({ min: 1, max: 5 }).map((d) => String(actual + d)),
    fc.constantFrom('0', '-1', '1e3', '', ' 1', '99999999999999999999', String(2 ** 53), '٣'),
  );

/** DATA of one SIO frame: text, `~j~` hostile JSON or events, `~h~` heartbeats. */
const sioData = fc.oneof(
  { weight: 4, arbitrary: eventJsonText.map((json) => '~j~' + json) },
  { weight: 3, arbitrary: hostileJsonText.map((json) => '~j~' + json) },
  { weight: 1, arbitrary: fc.oneof(fc.nat().map(String), hugeNumberText).map((n) => '~h~' + n) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);

/** One SIO frame, its length honest or lying. */
const sioFrame = fc
  .tuple(sioData, fc.nat({ max: 9 }))
  .chain(([data, roll]) =>
    roll < 7 ? fc.constant(`~m~${data.length}~m~${data}`) : lyingLength(data.length).map((n) => `~m~${n}~m~${data}`),
  );

/** A payload of the SIO codec (`~m~len~m~data`, several frames at times). */
export const sioPayload: fc.Arbitrary<string> = fc
  .array(sioFrame, { minLength: 1, maxLength: 3 })
  .map((f) => f.join(''));

/** Code points, as the streaming codec counts them. */
const codePoints = (text: string) => [...text].length;

/** One frame of the streaming codec: `type:length:body,`, JSON annotated `j`, lengths lying at times. */
const streamingFrame = fc
  .tuple(
    fc.oneof(
      hostileJsonText.map((json) => ['1', 'j\n:' + json] as const),
      eventJsonText.map((json) => ['1', 'j\n:' + json] as const),
      fc.string({ maxLength: 20 }).map((text) => ['1', ':' + text] as const),
      fc.constantFrom(...POLLUTING_KEYS).map((key) => ['1', `${key}\n${key}:v:x`] as const),
      fc.nat().map((n) => ['2', String(n)] as const),
      fc.constantFrom(['0', ''] as const, ['3', 'Ab3dE5gH7jK9mN1p'] as const, ['9', 'x'] as const),
    ),
    fc.nat({ max: 9 }),
  )
  .chain(([[type, body], roll]) =>
    (roll < 7 ? fc.constant(String(codePoints(body))) : lyingLength(codePoints(body))).map(
      (length) => `${type}:${length}:${body},`,
    ),
  );

/** A chunk for the streaming codec (several frames, the last cut short at times). */
export const streamingPayload: fc.Arbitrary<string> = fc
  .tuple(fc.array(streamingFrame, { minLength: 1, maxLength: 3 }), fc.nat({ max: 4 }))
  .map(([frames, cut]) => {
    const text = frames.join('');
    return cut === 0 ? text.slice(0, Math.floor(text.length / 2)) : text;
  });

/** A sac-sock client frame: `event 0x02 payload`, names and payloads hostile, either opcode. */
export const sacSockFrame: fc.Arbitrary<{ data: Buffer; isBinary: boolean }> = fc
  .tuple(
    fc.constantFrom('chat', 'echo', ...POLLUTING_KEYS, 'toString', '', 'a\x01b'),
    fc.oneof(
      { weight: 6, arbitrary: hostileJsonText },
      { weight: 1, arbitrary: deepJsonText.map((json) => ' \n' + json) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
    ),
    fc.boolean(),
    fc.nat({ max: 19 }),
  )
  .map(([event, payload, isBinary, roll]) => ({
    data: Buffer.from(roll === 0 ? event + payload : `${event}\x02${payload}`, 'utf8'),
    isBinary,
  }));

/** A plain endpoint json-channel message: hostile JSON, as a text or a binary message. */
export const plainJsonMessage = fc
  .tuple(fc.oneof(hostileJsonText, eventJsonText), fc.boolean())
  .map(([text, isBinary]) => ({ data: isBinary ? Buffer.from(text, 'utf8') : text, isBinary }));

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** A ssredis envelope from "another instance": fields right or wrong, payloads hostile. */
export const redisEnvelope: fc.Arbitrary<{ kind: 'roomcasts' | 'broadcasts'; text: string }> = fc
  .tuple(
    fc.constantFrom('roomcasts' as const, 'broadcasts' as const),
    fc.oneof(fc.constantFrom(1, 3, 3, 2), fc.constantFrom<unknown>(0, 4, '3', null, Number.POSITIVE_INFINITY, -0)),
    fc.constantFrom<unknown>('chat', 'message', '__proto__', 'constructor', '', 7),
    hostileJsonText,
    fc.constantFrom<unknown>(undefined, true, false, 'yes'),
    fc.constantFrom<unknown>(undefined, ['lobby'], ['__proto__', 'lobby'], [], [''], 'lobby'),
    fc.nat({ max: 9 }),
  )
  .chain(([kind, d, e, payload, plain, rooms, roll]) => {
    const envelope: Record<string, unknown> = { d, e, r: 'lobby', p: base64(payload), s: 'other-node', plain, rooms };
    const honest = JSON.stringify(envelope);
    if (roll < 6) return fc.constant({ kind, text: honest });
    // The envelope's own JSON attacked: deep, polluting keys, or broken.
    return fc
      .oneof(
        deepJsonText.map((deep) => honest.replace('"s":', `"x":${deep},"s":`)),
        fc.constantFrom(...POLLUTING_KEYS).map((key) => honest.replace('{', `{"${key}":{"polluted":"yes"},`)),
        fc.nat().map((cut) => honest.slice(0, cut % honest.length)),
      )
      .map((text) => ({ kind, text }));
  });

// ── What every input must leave intact ────────────────────────────────────────────────

const GUARDED = [Object.prototype, Array.prototype, Function.prototype, String.prototype] as const;

/**
 * Takes a snapshot of the built-in prototypes; `check()` throws naming any key added,
 * removed or replaced since (a prototype-pollution hit anywhere in the process).
 */
export function guardPrototypes(): { check(): void } {
  const snapshot = GUARDED.map(
    (proto) => new Map(Reflect.ownKeys(proto).map((key) => [key, descriptorOf(proto, key)])),
  );
  return {
    check() {
      GUARDED.forEach((proto, i) => {
        const before = snapshot[i]!;
        const keys = Reflect.ownKeys(proto);
        if (keys.length !== before.size) throw new Error(`prototype polluted: keys ${keys.map(String).join(',')}`);
        for (const key of keys) {
          if (before.get(key) !== descriptorOf(proto, key)) throw new Error(`prototype polluted: ${String(key)}`);
        }
      });
      if (({} as { polluted?: unknown }).polluted !== undefined) throw new Error('Object.prototype.polluted is set');
    },
  };
}

function descriptorOf(proto: object, key: string | symbol): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(proto, key);
  return descriptor?.value ?? descriptor?.get;
}

/**
 * Whether `value` is plain data, as JSON.parse makes it: strings, numbers, booleans,
 * null, arrays and objects whose prototype is Object.prototype with own data properties only.
 * Walked without recursion, so a deep value cannot overflow the check itself.
 */
export function isPlainData(value: unknown): boolean {
  const stack: unknown[] = [value];
  for (let seen = 0; stack.length > 0 && seen < 1_000_000; seen++) {
    const item = stack.pop();
    // JSON.parse reads 1e400 as Infinity: still a number, still data.
    if (item === null || typeof item === 'string' || typeof item === 'boolean' || typeof item === 'number') continue;
    if (typeof item !== 'object') return false;
    const proto = Object.getPrototypeOf(item) as unknown;
    if (proto !== Object.prototype && proto !== Array.prototype) return false;
    for (const key of Reflect.ownKeys(item)) {
      const descriptor = Object.getOwnPropertyDescriptor(item, key)!;
      if (typeof key === 'symbol' || !('value' in descriptor)) return false;
      if (!(Array.isArray(item) && key === 'length')) stack.push(descriptor.value);
    }
  }
  return stack.length === 0;
}
