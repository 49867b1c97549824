export { MlgridClient, type MlgridClientOptions, type PublishOptions, type WaitOptions } from './client.js';
export { ApiError } from './errors.js';
export * from './access.js';
export { API_VERSIONS, type FetchLike } from './http.js';
export * from './types.js';
export * from './endpoints.js';
export * from './artifacts.js';
export * from './data.js';
export * from './run.js';
