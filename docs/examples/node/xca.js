// Call an xca API with Alibaba's Node.js SDK (npm install aliyun-api-gateway@1.1.6).
// Usage: APP_KEY=… APP_SECRET=… node xca.js https://api.example.com/orders
'use strict';
const Client = require('aliyun-api-gateway').Client;

const client = new Client(process.env.APP_KEY, process.env.APP_SECRET);
const url = process.argv[2];

(async () => {
  try {
    // GET: the query is signed; X-Ca-Key, -Timestamp, -Nonce and -Stage too.
    console.log('GET', JSON.stringify(await client.get(url, {query: {id: '7'}})));
    // POST JSON: the SDK adds Content-MD5 of the body.
    console.log('POST', JSON.stringify(await client.post(url, {data: {name: 'bob'}})));
  } catch (err) {
    // On a deny the SDK's message carries X-Ca-Error-Message and X-Ca-Request-Id.
    console.error(err.message);
    process.exit(1);
  }
})();
