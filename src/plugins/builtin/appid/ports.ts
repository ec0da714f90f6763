/** Well-known server ports -> application names: the fallback when no content names a session. */
export const DEFAULT_PORT_NAMES: Readonly<Record<number, string>> = {
  7: 'echo', 20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'dns', 67: 'dhcp', 69: 'tftp',
  80: 'http', 110: 'pop3', 123: 'ntp', 143: 'imap', 161: 'snmp', 179: 'bgp', 389: 'ldap', 443: 'https',
  445: 'smb', 465: 'smtps', 514: 'syslog', 587: 'submission', 636: 'ldaps', 853: 'dns-over-tls', 993: 'imaps',
  995: 'pop3s', 1194: 'openvpn', 1812: 'radius', 3306: 'mysql', 3389: 'rdp', 5060: 'sip', 5061: 'sips',
  5432: 'postgresql', 6379: 'redis', 8080: 'http-alt', 8443: 'https-alt',
};
