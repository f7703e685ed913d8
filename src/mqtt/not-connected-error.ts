/** The MQTT client was not connected: nothing was sent, and nothing will be sent later. */
export class NotConnectedError extends Error {
  override name = 'NotConnectedError';
  constructor() {
    super('not connected to the MQTT broker');
  }
}
