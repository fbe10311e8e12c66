declare module "*.ofl?raw" {
  const text: string;
  export default text;
}
