// The official JavaScript client, @linode/api-v4, against the fake Linode:
// create, get, list and delete a Linode and read its events. Run by
// simulator/linode's TestOfficialJSClient as `node judge.mjs URL TOKEN`; it
// prints one JSON object saying what it saw, or exits 1 with the error.
import {
  baseRequest, setToken, createLinode, getLinode, getLinodes, deleteLinode, getEvents,
} from '@linode/api-v4';

const [base, token] = process.argv.slice(2);
// The client's URLs are absolute (https://api.linode.com/v4...): point them
// at the fake.
baseRequest.interceptors.request.use((config) => {
  config.url = config.url.replace('https://api.linode.com', base);
  return config;
});
setToken(token);

const seen = {};
try {
  const made = await createLinode({
    type: 'g6-nanode-1', region: 'us-east', label: 'js-judge-1', image: 'linode/debian12',
    root_pass: 'Correct-Horse-9', booted: true, tags: ['javascript'],
  });
  seen.created = { id: made.id, status: made.status, label: made.label };
  const got = await getLinode(made.id);
  seen.got = { id: got.id, status: got.status, type: got.type, region: got.region };
  const list = await getLinodes({}, { tags: 'javascript' });
  seen.listed = list.data.map((l) => l.id);
  seen.results = list.results;
  const evs = await getEvents({}, { 'entity.id': made.id, 'entity.type': 'linode' });
  seen.events = evs.data.map((e) => `${e.action}:${e.status}`);
  await deleteLinode(made.id);
  try {
    await getLinode(made.id);
    seen.afterDelete = 200;
  } catch (err) {
    // The client rejects with the API's errors array, or with the axios
    // error carrying the answer.
    const errors = Array.isArray(err) ? err : err?.response?.data?.errors;
    seen.afterDelete = `${err?.response?.status ?? ''} ${(errors ?? []).map((e) => e.reason).join('; ')}`.trim();
  }
  console.log(JSON.stringify(seen));
} catch (err) {
  console.error(JSON.stringify(err));
  process.exit(1);
}
