#!/usr/bin/env node
// Thin launcher so npm can link the bin before the first build; `npm start` builds first.
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('mlgrid is not built yet: run `npm run build` (npm start does it for you).');
    process.exit(1);
  }
  throw err;
});
