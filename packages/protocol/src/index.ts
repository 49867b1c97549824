export * from './events.js';
export * from './arm.js';
export * from './filters.js';
export * from './subscriptions.js';
export * from './automations.js';
