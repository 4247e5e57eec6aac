// @types/qrcode names the browser's canvas in signatures this package never calls, and the
// build checks library types without the DOM lib: an empty interface stands in for it. It is
// never emitted, so it reaches no application's types.
interface HTMLCanvasElement {}
