// The Vast.ai REST API (console.vast.ai/api/v0), as it answers vast-cli:
// POST /bundles/ (offer search, a JSON query), GET /instances, /machines and
// /users/current (each with ?owner=me).
//
// The key must come as "Authorization: Bearer KEY" (known keys below);
// without one the API answers 401 {"msg": …}. The offer search filters on
// num_gpus and gpu_name (eq/in) and honours "limit"; like the real API it
// can return a rented offer, which vast-cli filters out itself.
const KEYS = new Set(['vast_test_key_123', 'vast_stored_key_456']);

const offers = [
  { id: 1001, ask_contract_id: 1001, bundle_id: 501, machine_id: 4200, host_id: 77, num_gpus: 1, gpu_name: 'RTX 4090', gpu_ram: 24564, cpu_ram: 64300, cpu_cores_effective: 16.0, disk_space: 512.5, dph_total: 0.3466666666666667, dlperf: 73.2, dlperf_per_dphtotal: 211.15, reliability2: 0.9987, score: 142.7, cuda_max_good: 12.4, driver_version: '550.54.14', inet_up: 912.3, inet_down: 1021.8, geolocation: 'Sweden, SE', verification: 'verified', rentable: true, rented: false, direct_port_count: 24, public_ipaddr: '203.0.113.10', duration: 2591999.5, hosting_type: null, start_date: 1712000000.0, label: null, extra: { note: 'Données' } },
  { id: 1002, ask_contract_id: 1002, bundle_id: 502, machine_id: 4300, host_id: 78, num_gpus: 2, gpu_name: 'RTX 3090', gpu_ram: 24576, cpu_ram: 128000, cpu_cores_effective: 32.0, disk_space: 1024.0, dph_total: 0.41, dlperf: 60.1, dlperf_per_dphtotal: 146.59, reliability2: 0.991, score: 99.5, cuda_max_good: 12.2, driver_version: '535.86.05', inet_up: 500.0, inet_down: 800.0, geolocation: 'Taiwan, TW', verification: 'verified', rentable: true, rented: true, direct_port_count: 10, public_ipaddr: '203.0.113.11', duration: 1209600.0, hosting_type: 1, start_date: 1712000001.0, label: null },
  { id: 1003, ask_contract_id: 1003, bundle_id: 503, machine_id: 4400, host_id: 79, num_gpus: 1, gpu_name: 'H100 SXM', gpu_ram: 81559, cpu_ram: 257000, cpu_cores_effective: 26.0, disk_space: 2048.0, dph_total: 2.134, dlperf: 210.4, dlperf_per_dphtotal: 98.6, reliability2: 0.9995, score: 300.1, cuda_max_good: 12.6, driver_version: '560.35.03', inet_up: 5000.0, inet_down: 5000.0, geolocation: 'United States, US', verification: 'verified', rentable: true, rented: false, direct_port_count: 100, public_ipaddr: '203.0.113.12', duration: 7776000.0, hosting_type: 1, start_date: 1712000002.0, label: null },
];

const instances = [
  { id: 9001, machine_id: 4200, actual_status: 'running', intended_status: 'running', cur_state: 'running', num_gpus: 1, gpu_name: 'RTX 4090', gpu_util: 12.5, cpu_ram: 64300, disk_space: 40.0, ssh_host: 'ssh4.vast.ai', ssh_port: 31234, dph_total: 0.3466666666666667, image_uuid: 'pytorch/pytorch:latest', inet_up: 912.3, inet_down: 1021.8, reliability2: 0.9987, label: 'trainer', start_date: 1712003600.25, extra_env: [['TZ', 'UTC'], ['-p 8080:8080', '1']], ports: { '22/tcp': [{ HostIp: '0.0.0.0', HostPort: '31235' }] }, status_msg: 'success, running pytorch/pytorch_latest/ssh', uptime_mins: 61.5 },
];

const machines = [
  { id: 4200, machine_id: 4200, hostname: 'rig-stockholm-01', num_gpus: 1, gpu_name: 'RTX 4090', disk_space: 512, driver_version: '550.54.14', reliability2: 0.9987, verification: 'verified', public_ipaddr: '203.0.113.10', geolocation: 'Sweden, SE', num_reports: 0, listed_gpu_cost: 0.3, min_bid_price: 0.15, credit_discount_max: 0.4, listed_inet_up_cost: 0.005, listed_inet_down_cost: 0.005, gpu_occupancy: 'D', listed: true, timeout: null },
];

const user = {
  id: 31337, username: 'ada', fullname: 'Ada Lovelace', email: 'ada@example.com', email_verified: true, balance: 12.5, credit: 40.25, can_pay: true, has_billing: true, has_payout: false, billaddress_city: 'London', billaddress_country: 'GB', billaddress_line1: '1 Analytical St', billaddress_line2: null, billaddress_zip: 'N1', ssh_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake ada@example', api_key: 'vast_secret_from_the_server', balance_threshold: 5, balance_threshold_enabled: false, last4: '4242', paypal_email: null, user: 'ada@example.com', sid: 'session-1', rights: null,
};

export function error(status) {
  const messages = { 401: 'Invalid user key', 403: 'Forbidden', 404: 'Not found.', 429: 'API requests too frequent', 500: 'Internal server error', 503: 'Service temporarily unavailable' };
  return { success: false, error: status === 404 ? 'not_found' : 'error', msg: messages[status] ?? `HTTP ${status}` };
}

function matches(offer, query) {
  for (const [field, ops] of Object.entries(query)) {
    if (field !== 'num_gpus' && field !== 'gpu_name') continue;
    for (const [op, value] of Object.entries(ops)) {
      const have = String(offer[field]);
      if (op === 'eq' && have !== String(value)) return false;
      if (op === 'in' && !value.map(String).includes(have)) return false;
    }
  }
  return true;
}

export function handle({ method, url, headers, body }) {
  const key = (headers.authorization ?? '').replace(/^Bearer /, '');
  if (!KEYS.has(key)) {
    return { status: 401, body: error(401) };
  }
  const path = url.pathname;
  if (method === 'POST' && path === '/api/v0/bundles/') {
    const query = JSON.parse(body);
    let found = offers.filter((o) => matches(o, query));
    if (query.limit) found = found.slice(0, query.limit);
    return { body: { offers: found } };
  }
  if (method === 'GET' && url.searchParams.get('owner') === 'me') {
    if (path === '/api/v0/instances') return { body: { instances_found: instances.length, instances } };
    if (path === '/api/v0/machines') return { body: { machines } };
    if (path === '/api/v0/users/current') return { body: user };
  }
  return { status: 404, body: error(404) };
}
