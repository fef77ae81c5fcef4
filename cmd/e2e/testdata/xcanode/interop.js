'use strict';
// Drives the real aliyun-api-gateway client (Alibaba's Node.js SDK)
// against the HTTP front of TestXCANodeSDK, which turns each request into
// the CheckRequest Envoy would send to authzd. One JSON line per case.
const Client = require('aliyun-api-gateway').Client;

const base = process.env.FRONT_URL;
const client = new Client(process.env.APP_KEY, process.env.APP_SECRET);
const forger = new Client(process.env.APP_KEY, 'not-the-secret-at-all');
const form = 'application/x-www-form-urlencoded';

const cases = [
  ['GET', () => client.get(base + '/orders?id=7', {query: {page: '2', name: '中文 x'}})],
  ['GET with an empty value', () => client.get(base + '/orders?e=&id=7', {})],
  ['POST form', () => client.post(base + '/orders?x=1&a=q', {headers: {'content-type': form}, data: {name: 'bob smith', a: 'form wins', sym: '&=+%'}})],
  ['POST JSON', () => client.post(base + '/orders', {data: {name: 'bob', n: 7}})],
  ['POST JSON with query', () => client.post(base + '/orders', {query: {dry: 'true'}, data: {name: 'bob'}})],
  ['PUT', () => client.put(base + '/orders/7', {data: {name: 'eve'}})],
  ['DELETE', () => client.delete(base + '/orders/7', {query: {force: '1'}})],
  ['custom signed headers', () => client.get(base + '/orders', {signHeaders: {'X-Tenant': 't1', 'x-trace': 'abc'}})],
  ['wrong secret', () => forger.get(base + '/orders', {})],
  ['repeated key', () => client.get(base + '/orders?a=2&a=1', {})],
];

(async () => {
  for (const [name, call] of cases) {
    try {
      const body = await call();
      console.log(JSON.stringify({name, ok: true, body}));
    } catch (err) {
      console.log(JSON.stringify({name, ok: false, code: err.code, message: err.message}));
    }
  }
})();
