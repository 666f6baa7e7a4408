/** State stores on SQL (SQLite default; MySQL/MariaDB shares the migrations and queries). */
export * from './migrations.js';
export * from './mysql.js';
export * from './refused.js';
export * from './schema.js';
export * from './sql-store.js';
export * from './sqlite.js';
export * from './sqlite-faults.js';
export * from './store-error.js';
