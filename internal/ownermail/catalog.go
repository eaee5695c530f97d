package ownermail

import "csirtlink/internal/tlp"

// catalog is every word of an owner's report, in one language. TLP labels stay in
// English in every language (FIRST's rule), so they are written as "TLP:<LABEL>".
type catalog struct {
	subject     string // [TLP], owner name, events
	greeting    string // owner name
	intro       string // events, first time, last time
	bySource    string
	sourceLine  string // events, feed, report
	fromPartner string // events, partner team, feed
	byClass     string
	classLine   string // events, class
	attachment  string // file name, format
	tlpHeading  string // label
	footer      string
	tlpRules    map[tlp.Label]string
	unnamedFeed string
}

// catalogs by the languages owners' contacts may choose.
var catalogs = map[string]catalog{
	"en": {
		subject:     "[TLP:%s] Security report for %s: %d events",
		greeting:    "Dear %s abuse team,",
		intro:       "%d events concerning your networks were reported between %s and %s.",
		bySource:    "Sources:",
		sourceLine:  "  %d from %s (%s)",
		fromPartner: "  %d routed to us by partner team %s, source %s",
		byClass:     "By kind:",
		classLine:   "  %d  %s",
		attachment:  "The attached file %s (%s) lists each event with the row as the source reported it.",
		tlpHeading:  "This report is TLP:%s.",
		footer:      "Please fix the hosts concerned. Reply to this message if an event is not yours.",
		unnamedFeed: "a feed",
		tlpRules: map[tlp.Label]string{
			tlp.Clear: "Disclosure is not limited.",
			tlp.Green: "Limited disclosure: share within your community, not publicly.",
			tlp.Amber: "Limited disclosure: share within your organisation and with its clients only on a need-to-know basis.",
		},
	},
	"zh-Hans": {
		subject:     "[TLP:%s] %s 安全报告：%d 条事件",
		greeting:    "%s 滥用处理团队：您好！",
		intro:       "在 %[2]s 至 %[3]s 期间，共报告了 %[1]d 条与您的网络相关的事件。",
		bySource:    "来源：",
		sourceLine:  "  %d 条来自 %s（%s）",
		fromPartner: "  %d 条由伙伴团队 %s 转交，来源 %s",
		byClass:     "按类别：",
		classLine:   "  %d  %s",
		attachment:  "附件 %s（%s）逐条列出每个事件及来源报告的原始记录。",
		tlpHeading:  "本报告为 TLP:%s。",
		footer:      "请修复相关主机。如有事件不属于您，请回复本邮件。",
		unnamedFeed: "一个数据源",
		tlpRules: map[tlp.Label]string{
			tlp.Clear: "披露不受限制。",
			tlp.Green: "有限披露：可在您的社区内共享，不得公开。",
			tlp.Amber: "有限披露：仅可在您的组织内部及按需知原则与其客户共享。",
		},
	},
	"ja": {
		subject:     "[TLP:%s] %s 様 セキュリティレポート：%d 件",
		greeting:    "%s 不正利用対応窓口 御中",
		intro:       "%[2]s から %[3]s までの間に、貴組織のネットワークに関する事象が %[1]d 件報告されました。",
		bySource:    "情報源：",
		sourceLine:  "  %d 件：%s（%s）",
		fromPartner: "  %d 件：パートナーチーム %s から転送、情報源 %s",
		byClass:     "種類別：",
		classLine:   "  %d  %s",
		attachment:  "添付ファイル %s（%s）に、各事象と情報源が報告した元の行を記載しています。",
		tlpHeading:  "このレポートは TLP:%s です。",
		footer:      "該当するホストの対処をお願いします。貴組織に関係のない事象があれば、このメールにご返信ください。",
		unnamedFeed: "フィード",
		tlpRules: map[tlp.Label]string{
			tlp.Clear: "開示は制限されません。",
			tlp.Green: "限定開示：コミュニティ内で共有できますが、公開はできません。",
			tlp.Amber: "限定開示：組織内、および知る必要のある顧客とのみ共有できます。",
		},
	},
	"ko": {
		subject:     "[TLP:%s] %s 보안 보고서: 이벤트 %d건",
		greeting:    "%s 침해대응 담당자님께,",
		intro:       "%[2]s부터 %[3]s까지 귀하의 네트워크와 관련된 이벤트 %[1]d건이 보고되었습니다.",
		bySource:    "출처:",
		sourceLine:  "  %d건: %s (%s)",
		fromPartner: "  %d건: 파트너 팀 %s에서 전달, 출처 %s",
		byClass:     "유형별:",
		classLine:   "  %d  %s",
		attachment:  "첨부 파일 %s(%s)에 각 이벤트와 출처가 보고한 원본 행이 있습니다.",
		tlpHeading:  "이 보고서는 TLP:%s입니다.",
		footer:      "해당 호스트를 조치해 주십시오. 귀하와 관계없는 이벤트가 있으면 이 메일에 회신해 주십시오.",
		unnamedFeed: "피드",
		tlpRules: map[tlp.Label]string{
			tlp.Clear: "공개에 제한이 없습니다.",
			tlp.Green: "제한적 공개: 커뮤니티 내에서 공유할 수 있으나 공개할 수 없습니다.",
			tlp.Amber: "제한적 공개: 조직 내부 및 알 필요가 있는 고객에게만 공유할 수 있습니다.",
		},
	},
}

// catalogFor is the owner's language, English when it has none we speak.
func catalogFor(lang string) catalog {
	if c, ok := catalogs[lang]; ok {
		return c
	}
	return catalogs["en"]
}
