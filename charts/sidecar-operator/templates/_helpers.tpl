{{/* Chart name, overridable. */}}
{{- define "sidecar-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every object name. */}}
{{- define "sidecar-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Cluster-scoped objects carry the namespace too: two releases in two namespaces must not collide. */}}
{{- define "sidecar-operator.clusterName" -}}
{{- printf "%s-%s" (include "sidecar-operator.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sidecar-operator.uninstallName" -}}
{{- printf "%s-uninstall" (include "sidecar-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sidecar-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sidecar-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Deliberately not app.kubernetes.io/managed-by=sidecar-operator: that label marks what the operator
itself creates (and what `sidecar-operator uninstall` deletes).
*/}}
{{- define "sidecar-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "sidecar-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sidecar-operator
{{- end }}

{{- define "sidecar-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default (printf "v%s" .Chart.AppVersion) .Values.image.tag) }}
{{- end }}

{{/* Restricted pod-security profile, for every container the chart runs. */}}
{{- define "sidecar-operator.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "sidecar-operator.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
NODE_OPTIONS of a replica, from .Values.runtime: the old generation from maxOldSpaceMiB, or three
quarters of resources.limits.memory when that is given in Mi or Gi; the semi-space; extra options.
*/}}
{{- define "sidecar-operator.nodeOptions" -}}
{{- $r := .Values.runtime -}}
{{- $opts := list -}}
{{- $old := 0 -}}
{{- if kindIs "invalid" $r.maxOldSpaceMiB -}}
{{- $limit := toString (dig "limits" "memory" "" .Values.resources) -}}
{{- if hasSuffix "Mi" $limit -}}
{{- $old = div (mul (atoi (trimSuffix "Mi" $limit)) 3) 4 -}}
{{- else if hasSuffix "Gi" $limit -}}
{{- $old = div (mul (atoi (trimSuffix "Gi" $limit)) 3072) 4 -}}
{{- end -}}
{{- else -}}
{{- $old = int $r.maxOldSpaceMiB -}}
{{- end -}}
{{- if gt (int $old) 0 -}}
{{- $opts = append $opts (printf "--max-old-space-size=%d" (int $old)) -}}
{{- end -}}
{{- if gt (int $r.maxSemiSpaceMiB) 0 -}}
{{- $opts = append $opts (printf "--max-semi-space-size=%d" (int $r.maxSemiSpaceMiB)) -}}
{{- end -}}
{{- with $r.nodeOptions -}}
{{- $opts = append $opts . -}}
{{- end -}}
{{- join " " $opts -}}
{{- end -}}
