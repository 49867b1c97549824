// Tests read many JSON bodies and check them with assertions; typing each one would only add casts.
/* eslint-disable @typescript-eslint/no-explicit-any */
interface Response {
  json(): Promise<any>;
}
