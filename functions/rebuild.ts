export const handler = async () => { throw new Error('rebuild: not built yet'); };
