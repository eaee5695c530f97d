package shadowserver

import (
	"regexp"
	"strings"
)

// report is what we know of one Shadowserver report type. The classifications
// follow Shadowserver's own IntelMQ schema (github.com/The-Shadowserver-Foundation/report_schema,
// intelmq.json) mapped onto RSIT, with one deliberate difference: every
// accessible-service scan (scan_*) is vulnerable/vulnerable-system, where the
// schema files a few (scan_http) under other/other — for a network owner an
// exposed service is a finding to fix either way.
type report struct {
	class      string // RSIT "class/type"
	identifier string // the schema's classification.identifier; empty: from the infection column
	// urlColumns: the report's url/http_host columns describe the reported host
	// itself (compromised websites), not a sinkhole or honeypot it reached.
	urlColumns bool
}

const (
	vulnerableSystem = "vulnerable/vulnerable-system"
	amplifier        = "vulnerable/ddos-amplifier"
	weakCrypto       = "vulnerable/weak-crypto"
	infected         = "malicious-code/infected-system"
	scanner          = "information-gathering/scanner"
	bruteForce       = "intrusion-attempts/brute-force"
	compromise       = "intrusions/system-compromise"
	ddos             = "availability/ddos"
)

// reports lists the common report types. An IPv6 twin (scan6_*, event6_*,
// *6) shares its entry: see lookupReport.
var reports = map[string]report{
	// Accessible services: a host answering where it should not.
	"scan_telnet":              {vulnerableSystem, "open-telnet", false},
	"scan_ssh":                 {vulnerableSystem, "accessible-ssh", false},
	"scan_http":                {vulnerableSystem, "accessible-http", false},
	"scan_rdp":                 {vulnerableSystem, "accessible-rdp", false},
	"scan_smb":                 {vulnerableSystem, "accessible-smb", false},
	"scan_vnc":                 {vulnerableSystem, "accessible-vnc", false},
	"scan_ftp":                 {vulnerableSystem, "accessible-ftp", false},
	"scan_mysql":               {vulnerableSystem, "open-mysql", false},
	"scan_postgres":            {vulnerableSystem, "open-postgres", false},
	"scan_elasticsearch":       {vulnerableSystem, "open-elasticsearch", false},
	"scan_mongodb":             {vulnerableSystem, "open-mongodb", false},
	"scan_redis":               {vulnerableSystem, "open-redis", false},
	"scan_couchdb":             {vulnerableSystem, "open-couchdb", false},
	"scan_docker":              {vulnerableSystem, "accessible-docker", false},
	"scan_kubernetes":          {vulnerableSystem, "accessible-kubernetes", false},
	"scan_adb":                 {vulnerableSystem, "accessible-adb", false},
	"scan_cwmp":                {vulnerableSystem, "accessible-cwmp", false},
	"scan_ipp":                 {vulnerableSystem, "open-ipp", false},
	"scan_ics":                 {vulnerableSystem, "accessible-ics", false},
	"scan_mqtt":                {vulnerableSystem, "open-mqtt", false},
	"scan_amqp":                {vulnerableSystem, "open-amqp", false},
	"scan_http_vulnerable":     {vulnerableSystem, "vulnerable-http", false},
	"scan_exchange":            {vulnerableSystem, "vulnerable-exchange-server", false},
	"scan_smtp_vulnerable":     {vulnerableSystem, "vulnerable-smtp", false},
	"scan_isakmp":              {vulnerableSystem, "vulnerable-isakmp", false},
	"scan_http_proxy":          {vulnerableSystem, "open-http-proxy", false},
	"scan_cisco_smart_install": {vulnerableSystem, "accessible-cisco-smart-install", false},
	// Open UDP services that amplify a spoofed request into a flood.
	"scan_dns":              {amplifier, "dns-open-resolver", false},
	"scan_ntp":              {amplifier, "ntp-version", false},
	"scan_ntpmonitor":       {amplifier, "ntp-monitor", false},
	"scan_snmp":             {amplifier, "open-snmp", false},
	"scan_ssdp":             {amplifier, "open-ssdp", false},
	"scan_chargen":          {amplifier, "open-chargen", false},
	"scan_qotd":             {amplifier, "open-qotd", false},
	"scan_memcached":        {amplifier, "open-memcached", false},
	"scan_netbios":          {amplifier, "open-netbios-nameservice", false},
	"scan_portmapper":       {amplifier, "open-portmapper", false},
	"scan_mdns":             {amplifier, "open-mdns", false},
	"scan_ldap_udp":         {amplifier, "open-ldap", false},
	"scan_mssql":            {amplifier, "open-mssql", false},
	"scan_ubiquiti":         {amplifier, "open-ubiquiti", false},
	"scan_ard":              {amplifier, "open-ard", false},
	"scan_coap":             {amplifier, "open-coap", false},
	"scan_dvr_dhcpdiscover": {amplifier, "open-dvr-dhcpdiscover", false},
	// Weak cryptography.
	"scan_ssl_poodle": {weakCrypto, "ssl-poodle", false},
	"scan_ssl_freak":  {weakCrypto, "ssl-freak", false},
	// Sinkholes: hosts calling a seized command-and-control server are infected.
	"event4_sinkhole":                {infected, "", false},
	"event4_sinkhole_http":           {infected, "", false},
	"event4_sinkhole_http_referer":   {infected, "", false},
	"event4_sinkhole_dns":            {infected, "", false},
	"event4_microsoft_sinkhole":      {infected, "", false},
	"event4_microsoft_sinkhole_http": {infected, "", false},
	// Honeypots: what hosts did to Shadowserver's sensors.
	"event4_honeypot_brute_force":   {bruteForce, "", false},
	"event4_honeypot_darknet":       {"other/other", "", false},
	"event4_honeypot_ddos":          {ddos, "", false},
	"event4_honeypot_ddos_amp":      {ddos, "amplification-ddos-victim", false},
	"event4_honeypot_http_scan":     {scanner, "event-honeypot-http-scan", false},
	"event4_honeypot_ics_scan":      {scanner, "event-honeypot-ics-scan", false},
	"event4_honeypot_rdp_scan":      {scanner, "event-honeypot-rdp-scan", false},
	"event4_honeypot_smb_scan":      {scanner, "event-honeypot-smb-scan", false},
	"event4_honeypot_adb_scan":      {scanner, "event-honeypot-adb-scan", false},
	"event4_honeypot_snmp_scan":     {scanner, "event-honeypot-snmp-scan", false},
	"event4_honeypot_ikev2_scan":    {scanner, "event-honeypot-ikev2-scan", false},
	"event4_honeypot_rocketmq_scan": {scanner, "event-honeypot-rocketmq-scan", false},
	"event4_ddos_participant":       {ddos, "ddos-participant", false},
	"event4_ip_spoofer":             {"fraud/masquerade", "ip-spoofer", false},
	// Device identification: an inventory, not a finding.
	"device_id": {"other/undetermined", "device-id", false},
	// Compromised hosts.
	"compromised_website": {compromise, "compromised-website", true},
	"compromised_iot":     {compromise, "compromised-iot", false},
}

// families classify a report type we do not list by its name's family, so an
// event of a new report type still reaches its owner with a sensible category.
var families = []struct {
	prefix string
	report report
}{
	{"event4_honeypot_", report{class: scanner}},
	{"event6_honeypot_", report{class: scanner}},
	{"event4_sinkhole", report{class: infected}},
	{"event6_sinkhole", report{class: infected}},
	{"scan_", report{class: vulnerableSystem}},
	{"scan6_", report{class: vulnerableSystem}},
	{"compromised_", report{class: compromise}},
}

// lookupReport finds a report type; known is false for types not listed, whose
// family (if any) gives the classification, else other/undetermined.
func lookupReport(name string) (r report, known bool) {
	if r, ok := reports[name]; ok {
		return r, true
	}
	if twin, ok := ipv4Twin(name); ok {
		if r, ok := reports[twin]; ok {
			return r, true
		}
	}
	for _, f := range families {
		if strings.HasPrefix(name, f.prefix) {
			return f.report, false
		}
	}
	return report{class: "other/undetermined"}, false
}

// ipv4Twin names the IPv4 report of an IPv6 one: scan6_x → scan_x,
// event6_x → event4_x, device_id6 → device_id.
func ipv4Twin(name string) (string, bool) {
	switch {
	case strings.HasPrefix(name, "scan6_"):
		return "scan_" + name[len("scan6_"):], true
	case strings.HasPrefix(name, "event6_"):
		return "event4_" + name[len("event6_"):], true
	case strings.HasSuffix(name, "6"):
		return name[:len(name)-1], true
	}
	return "", false
}

// fileName matches Shadowserver's report file names: the date, the report
// type, then the filter and other parts, e.g.
// "2024-05-01-scan_telnet-asn-region.csv" or "2019-01-01-event4_sinkhole.csv.gz".
var fileName = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}-([a-z0-9_]+)(?:[-.]|$)`)

// ReportFromFileName reads the report type from a Shadowserver file name,
// with or without a directory.
func ReportFromFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	m := fileName.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return m[1]
}
