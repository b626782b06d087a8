"""Writes N Sloth SLO specs, one per loadgen host (availability of its
http_requests_total), for the SLO benchmarks: slo_specs.py N PATH."""
import sys

n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for h in range(n):
        inst = f"host-{h:05d}:9100"
        f.write(f"""---
version: prometheus/v1
service: host-{h:05d}
labels: {{team: team-{h % 17}}}
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{{instance="{inst}",code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(rate(http_requests_total{{instance="{inst}"}}[{{{{.window}}}}]))
    alerting:
      name: HostAvailability
      annotations: {{runbook_url: https://runbooks.example.com/availability}}
      page_alert: {{labels: {{severity: page}}}}
      ticket_alert: {{labels: {{severity: ticket}}}}
""")
