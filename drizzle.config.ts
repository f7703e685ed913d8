import { defineConfig } from 'drizzle-kit';

// Only `npm run db:generate` uses this file; the manager applies the generated migrations itself at start-up.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
