/**
 * A payload as a JavaScript string literal that is safe inside a `<script>` element and in
 * a script body (htmlfile, jsonp-polling). `JSON.stringify` alone leaves `</script>` and
 * `<!--` intact, which would end or comment out the element (0.6.18 had that bug), and
 * U+2028/U+2029 were line terminators in pre-ES2019 engines, so a literal containing them
 * was a syntax error. Each is written as a `\uXXXX` escape; the client decodes the very
 * same string.
 */
const UNSAFE = /[<>&\u2028\u2029]/g;

function escapeUnsafe(char: string): string {
  return '\\u' + char.charCodeAt(0).toString(16).padStart(4, '0');
}

export function scriptStringLiteral(payload: string): string {
  return JSON.stringify(payload).replace(UNSAFE, escapeUnsafe);
}
