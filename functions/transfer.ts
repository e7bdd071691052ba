export const handler = async () => { throw new Error('transfer: not built yet'); };
