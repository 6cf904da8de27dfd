/**
 * The few response methods the HTTP layer needs. Express's response has setHeader and
 * getHeader; Fastify's reply has header and getHeader. One helper covers both, so no
 * code is copied per adapter.
 */
interface HeaderTarget {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
  getHeader?(name: string): unknown;
}

export function setHeader(response: unknown, name: string, value: string): void {
  const target = response as HeaderTarget;
  if (typeof target.setHeader === 'function') target.setHeader(name, value);
  else if (typeof target.header === 'function') target.header(name, value);
}

/** Adds a member to a Structured Fields list header, keeping members set earlier for the same response. */
export function appendToListHeader(response: unknown, name: string, member: string): void {
  const existing = (response as HeaderTarget).getHeader?.(name);
  // Usually the first member: then there is nothing to split, compare or join.
  if (typeof existing !== 'string' || existing === '') return setHeader(response, name, member);
  const earlier = existing.split(/,\s*/);
  if (!earlier.includes(member)) setHeader(response, name, [...earlier, member].join(', '));
}
