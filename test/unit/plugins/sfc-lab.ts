/** r1 with function interfaces sfc-out / sfc-in toward an external function, r2 with the servers; web (tcp 80) and echo (udp 7). */
export const SFC_LAB = `
authority:
  name: sfc
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants:
    - { name: lan, members: [198.18.1.0/24] }
  services:
    - { name: web, addresses: [198.18.3.0/24], transport: [{ protocol: tcp, ports: [80] }], access-policy: [{ source: lan }] }
    - { name: echo, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [7] }], access-policy: [{ source: lan }] }
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: internet }] }
        - { name: sfc-out, kind: function }
        - { name: sfc-in, kind: function }
      routes: [{ prefix: 198.18.1.0/24, interface: lan0 }]
      service-routes:
        - { name: web-r2, service: web, peer: r2 }
        - { name: echo-r2, service: echo, peer: r2 }
    - name: r2
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: internet }] }
      routes: [{ prefix: 198.18.3.0/24, interface: lan0 }]
      service-routes:
        - { name: web-local, service: web, next-hop: { interface: lan0 } }
        - { name: echo-local, service: echo, next-hop: { interface: lan0 } }
`;
