// One way to put the same guard around every method of an adapter (error translation, time
// bounds): the object's own functions wrapped, its other members as they are.
type Method = (...args: unknown[]) => unknown;

/** A copy of `target` whose methods are `wrap(method)`, each called with `target` as `this`. */
export function wrapMethods<T extends object>(target: T, wrap: (method: Method) => Method): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(target as Record<string, unknown>)) {
    wrapped[name] = typeof member === 'function' ? wrap((...args) => (member as Method).apply(target, args)) : member;
  }
  return wrapped as T;
}
