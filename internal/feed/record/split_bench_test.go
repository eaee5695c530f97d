package record

import "testing"

var benchRow = `"2024-05-01 00:00:07","100.64.3.7","tcp",23,"host-100-64-3-7.dyn.example.net","telnet",64623,"ZZ","REGION","CITY",517311,0,"Communications, Service Provider, and Hosting Service","|Login:"`

func BenchmarkSplit(b *testing.B) {
	var dst []string
	for b.Loop() {
		dst, _ = Split(benchRow, dst)
	}
}
