import { withDatabase } from './shared.ts';
import { migrateToLatest } from '../db/knex.ts';

// withDatabase already migrates; run once more to report (it is a no-op when up to date).
await withDatabase(async (db) => {
  await migrateToLatest(db);
  const [completed] = (await db.migrate.list()) as [{ name: string }[], unknown[]];
  console.log(`Database schema is up to date (${completed.length} migrations applied).`);
});
