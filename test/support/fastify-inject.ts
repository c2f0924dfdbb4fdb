/**
 * Lets Fastify's inject() run under jest: it loads light-my-request, which require()s the ESM-only `cookie`
 * package, and jest 29's CommonJS runtime cannot load that. light-my-request uses one function of it, only for
 * inject()'s `cookies` option (the tests send Cookie headers instead), so a CommonJS stand-in is enough. Import
 * this module before the first inject().
 */
jest.mock('cookie', () => ({
  stringifySetCookie: (cookie: { name: string; value: string }) => `${cookie.name}=${cookie.value}`,
}));

export {};
