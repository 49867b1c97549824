export { MlgridClient, type MlgridClientOptions, type PublishOptions, type WaitOptions } from './client.js';
export { ApiError } from './errors.js';
export { API_VERSIONS, type FetchLike } from './http.js';
export * from './types.js';
