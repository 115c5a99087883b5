import { apiBase } from './api-client';

describe('apiBase: where the console verbs ask', () => {
  const saved = { api: process.env.DISTLOG_API, port: process.env.DISTLOG_UI_PORT };
  afterEach(() => {
    for (const [key, value] of [
      ['DISTLOG_API', saved.api],
      ['DISTLOG_UI_PORT', saved.port],
    ] as const)
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  });

  it('is the local query server on 4320, or on DISTLOG_UI_PORT (as `distlog up` in the same shell uses it)', () => {
    delete process.env.DISTLOG_API;
    delete process.env.DISTLOG_UI_PORT;
    expect(apiBase({})).toBe('http://127.0.0.1:4320');
    process.env.DISTLOG_UI_PORT = '5420';
    expect(apiBase({})).toBe('http://127.0.0.1:5420');
  });

  it('is DISTLOG_API, or --api, when given (without a trailing slash)', () => {
    process.env.DISTLOG_UI_PORT = '5420';
    process.env.DISTLOG_API = 'https://ops.example.com/distlog/';
    expect(apiBase({})).toBe('https://ops.example.com/distlog');
    expect(apiBase({ api: 'http://10.0.0.5:4320' })).toBe('http://10.0.0.5:4320');
  });
});
