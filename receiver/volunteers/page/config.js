// Where the receiver is. Empty: the page is served by the receiver itself (same origin).
// `receiver page build DIR --receiver-url URL` writes this file with that URL.
export default { receiverUrl: "" };
