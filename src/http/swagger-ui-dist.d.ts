/** swagger-ui-dist ships no types; this is the one function of it the api uses. */
declare module 'swagger-ui-dist/absolute-path.js' {
  /** The directory holding Swagger UI's static files. */
  export default function getAbsoluteFSPath(): string;
}
