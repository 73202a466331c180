// A piscina task that does nothing: measures the cost of one thread hop and back.
export default function noop(x) {
  return x;
}
