export const handler = async () => { throw new Error('ingest: not built yet'); };
