// Progress lines with a UTC time of day, like the other scripts' output.
export const say = (message) => { console.log(`${new Date().toISOString().slice(11, 19)} ${message}`) }

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
