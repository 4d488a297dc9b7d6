package server

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the server's Prometheus metrics, served with
// controller-runtime's on the metrics address.
type serverMetrics struct {
	runs           *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	objects        *prometheus.CounterVec
	bytes          prometheus.Counter
	inProgress     *prometheus.GaugeVec
	lastSuccess    *prometheus.GaugeVec
	skipped        *prometheus.CounterVec
	retentionGone  *prometheus.CounterVec
	locationBackup *prometheus.GaugeVec
}

// registerMetrics creates the metrics in reg. Metrics already registered
// there, by another server in the same process, are shared.
func registerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_runs_total",
			Help: "Backups and restores that ended, by kind and phase.",
		}, []string{"kind", "phase"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cairn_run_duration_seconds",
			Help:    "How long backups and restores took, by kind.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}, []string{"kind"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_objects_total",
			Help: "Objects backed up or restored, by kind.",
		}, []string{"kind"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cairn_backup_bytes_total",
			Help: "Bytes of object JSON backed up.",
		}),
		inProgress: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cairn_runs_in_progress",
			Help: "Backups and restores running now, by kind.",
		}, []string{"kind"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cairn_schedule_last_success_timestamp_seconds",
			Help: "When the newest successful backup of a schedule ended.",
		}, []string{"schedule"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_schedule_skipped_total",
			Help: "Schedule ticks passed over because the previous backup still ran.",
		}, []string{"schedule"}),
		retentionGone: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cairn_retention_deleted_total",
			Help: "Backups deleted by retention or TTL, by reason.",
		}, []string{"reason"}),
		locationBackup: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cairn_location_backups",
			Help: "Backups found in a location at its last sync.",
		}, []string{"location"}),
	}
	m.runs = register(reg, m.runs)
	m.duration = register(reg, m.duration)
	m.objects = register(reg, m.objects)
	m.bytes = register(reg, m.bytes)
	m.inProgress = register(reg, m.inProgress)
	m.lastSuccess = register(reg, m.lastSuccess)
	m.skipped = register(reg, m.skipped)
	m.retentionGone = register(reg, m.retentionGone)
	m.locationBackup = register(reg, m.locationBackup)
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	return c
}
