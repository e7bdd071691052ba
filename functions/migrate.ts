export const handler = async () => { throw new Error('migrate: not built yet'); };
