/**
 * A browser's cookie jar, as far as the session cookie needs one: keeps every `Set-Cookie`
 * of the answers it is shown (path-scoped, `Max-Age=0` deletes), and gives back the `Cookie`
 * header a request to a path would carry.
 */
export class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  /** Takes the `Set-Cookie` values of one answer (a header value, a list, or none). */
  store(setCookie: string | string[] | undefined): void {
    for (const line of typeof setCookie === 'string' ? [setCookie] : (setCookie ?? [])) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      if (attributes.some((a) => a.toLowerCase() === 'max-age=0')) this.cookies.delete(name);
      else this.cookies.set(name, { value: pair.slice(eq + 1), path });
    }
  }

  /** The `Cookie` header for a request to `path`, or undefined when no cookie applies. */
  header(path: string): string | undefined {
    const pairs = [...this.cookies]
      .filter(([, cookie]) => path === cookie.path || path.startsWith(`${cookie.path.replace(/\/$/, '')}/`))
      .map(([name, cookie]) => `${name}=${cookie.value}`);
    return pairs.length === 0 ? undefined : pairs.join('; ');
  }

  /** Names and values, for assertions. */
  entries(): Array<[string, string]> {
    return [...this.cookies].map(([name, cookie]) => [name, cookie.value]);
  }

  /** A copy: another tab of the same browser shares the jar; a copy is a snapshot of it. */
  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [name, cookie] of this.cookies) copy.cookies.set(name, { ...cookie });
    return copy;
  }
}
