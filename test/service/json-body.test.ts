/**
 * service/src/json-body.ts: what a parsed JSON body may not contain, named where it is.
 */
import { Readable } from 'node:stream';
import { jsonValueProblem, readBody } from '../../service/src/json-body';

describe('jsonValueProblem', () => {
  test.each([
    ['valid text, emoji included', { text: 'h\u00e9llo \u{1F600}', n: 1, list: [true, null] }, undefined],
    [
      'a lone surrogate, nested',
      { items: [{ name: 'ok' }, { name: 'a\ud800' }] },
      'items/1/name is not valid Unicode: it contains a lone surrogate (U+D800)',
    ],
    ['a NUL in an array', ['a', 'b\u0000'], '1 contains the NUL character (U+0000), which is not accepted'],
    ['a string body', '\udfff', 'request body is not valid Unicode: it contains a lone surrogate (U+DFFF)'],
    [
      'a field name with a lone surrogate',
      { ['\udc00']: 1 },
      'a field name in request body is not valid Unicode: it contains a lone surrogate (U+DC00)',
    ],
    [
      'a nested __proto__',
      { a: JSON.parse('{"__proto__":{"x":1}}') as unknown },
      'a has the forbidden field "__proto__"',
    ],
  ])('%s', (_case, value, problem) => {
    expect(jsonValueProblem(value)).toBe(problem);
  });

  test('a body nested 100000 deep is checked without exhausting the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}"\\u0000"${']'.repeat(100_000)}`) as unknown;
    expect(jsonValueProblem(deep)).toMatch(/contains the NUL character/);
  });
});

describe('readBody', () => {
  test('stops at the limit with a 413', async () => {
    await expect(readBody(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), 15)).rejects.toMatchObject({
      statusCode: 413,
    });
  });

  test('fails at once with the reason of a signal that already fired', async () => {
    const controller = new AbortController();
    const reason = Object.assign(new Error('gone'), { statusCode: 499 });
    controller.abort(reason);
    await expect(readBody(new Readable({ read() {} }), 100, controller.signal)).rejects.toBe(reason);
  });

  test('fails with the reason of a signal that fires while the body is awaited', async () => {
    const controller = new AbortController();
    const reason = Object.assign(new Error('late'), { statusCode: 408 });
    const reading = readBody(new Readable({ read() {} }), 100, controller.signal);
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
  });

  test('fails at once on a stream closed before its end (no event would come)', async () => {
    const stream = new Readable({ read() {} });
    stream.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(readBody(stream, 100)).rejects.toMatchObject({ statusCode: 400 });
  });
});
