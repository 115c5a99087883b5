import { requestScopeName } from './propagation';

describe('requestScopeName', () => {
  it.each([
    ['GET', '/orders/1042', 'GET /orders/:id'],
    ['GET', '/orders/1042/lines/7', 'GET /orders/:id/lines/:id'],
    ['DELETE', '/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'DELETE /users/:id'],
    ['GET', '/blobs/9f86d081884c7d659a2feaa0c55ad015', 'GET /blobs/:id'],
    ['GET', '/docs/507f1f77bcf86cd799439011', 'GET /docs/:id'],
    ['GET', '/u/a1B2c3D4e5F6g7', 'GET /u/:id'],
    // Words stay, however long; short codes with digits stay (v2, a route's version).
    ['GET', '/api/v2/customer-accounts', 'GET /api/v2/customer-accounts'],
    ['POST', '/checkout', 'POST /checkout'],
    ['GET', '/', 'GET /'],
    ['GET', '', 'GET /'],
    [undefined, '/health', 'GET /health'],
  ])('%s %s → %s', (method, path, name) => {
    expect(requestScopeName(method, path)).toBe(name);
  });
});
