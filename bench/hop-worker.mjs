// A piscina task that waits 1 ms like a quick statement (the thread sleeps in between) and answers
// with a /data-sized body: what the thread hop costs around a real task.
export default async function hop(job) {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return `{"rows":[[1,"T1 Alice","alice@t1.example"]],"rowCount":1,"truncated":false,"id":"${job.id}"}`;
}
