export { startServer, type ServerConfig, type RunningServer } from './server.js';
export { openStore, type StoreConfig } from './store/index.js';
