# Writes a fever-xml feed (planList vocabulary) of `plans` plans with `zones`
# zones each: one plan per base plan, starts spread evenly over 2024, each
# lasting two hours. Used by bench/run.sh.
# Usage: awk -v plans=10000 -v zones=100 -f bench/fever_feed.awk > feed.xml
function two(n) { return n < 10 ? "0" n : n }
function stamp(t,    d, s, m) {
  # t: seconds since 2024-01-01T00:00:00 (2024 is a leap year; t < 366 days).
  d = int(t / 86400); s = t % 86400
  for (m = 1; d >= days[m]; m++) d -= days[m]
  return "2024-" two(m) "-" two(d + 1) "T" two(int(s / 3600)) ":" two(int(s % 3600 / 60)) ":" two(s % 60)
}
BEGIN {
  split("31 29 31 30 31 30 31 31 30 31 30 31", days, " ")
  print "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
  print "<planList version=\"1.0\">"
  print "   <output>"
  step = int((366 * 86400 - 7200) / plans)  # the last plan ends within 2024
  for (p = 1; p <= plans; p++) {
    start = (p - 1) * step
    printf "      <base_plan base_plan_id=\"%d\" sell_mode=\"online\" organizer_company_id=\"%d\" title=\"Plan number %d &amp; friends\">\n", p, p % 97, p
    printf "         <plan plan_start_date=\"%s\" plan_end_date=\"%s\" plan_id=\"%d\" sell_from=\"2023-12-01T00:00:00\" sell_to=\"%s\" sold_out=\"false\">\n", stamp(start), stamp(start + 7200), p, stamp(start)
    for (z = 1; z <= zones; z++) {
      printf "            <zone zone_id=\"%d\" capacity=\"%d\" price=\"%d.%02d\" name=\"Zone %d of plan %d\" numbered=\"%s\" />\n", z, 50 + z, 10 + (p * 7 + z * 13) % 90, z % 100, z, p, (z % 2 ? "true" : "false")
    }
    print "         </plan>"
    print "      </base_plan>"
  }
  print "   </output>"
  print "</planList>"
}
