{{/* Names and labels. */}}
{{- define "gatekeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Leaves room for the longest suffix ("-migrations-config") within 63 characters. */}}
{{- define "gatekeeper.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gatekeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gatekeeper.labels" -}}
helm.sh/chart: {{ include "gatekeeper.chart" . }}
{{ include "gatekeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gatekeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatekeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The serving pods (not the migration Job's). */}}
{{- define "gatekeeper.serverSelectorLabels" -}}
{{ include "gatekeeper.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{- define "gatekeeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gatekeeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gatekeeper.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "gatekeeper.secretName" -}}
{{- default (include "gatekeeper.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "gatekeeper.jwksSecretName" -}}
{{- if .Values.jwks.existingSecret }}
{{- .Values.jwks.existingSecret }}
{{- else if .Values.jwks.json }}
{{- printf "%s-jwks" (include "gatekeeper.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The database driver, "sqlite" or "postgres": database.driver when set, else the scheme of
database.dsn. The DSN itself is never printed (it may hold a password).
*/}}
{{- define "gatekeeper.dbDriver" -}}
{{- $driver := .Values.database.driver | default "" }}
{{- if not $driver }}
{{- if .Values.secrets.existingSecret }}
{{- fail "database.driver must be set (sqlite or postgres) with secrets.existingSecret: the chart cannot read the DSN inside that Secret" }}
{{- end }}
{{- $dsn := .Values.database.dsn | default "" }}
{{- if or (hasPrefix "sqlite://" $dsn) (hasPrefix "sqlite3://" $dsn) (eq $dsn "memory") }}
{{- $driver = "sqlite" }}
{{- else if or (hasPrefix "postgres://" $dsn) (hasPrefix "postgresql://" $dsn) }}
{{- $driver = "postgres" }}
{{- else }}
{{- fail (printf "database.dsn must start with sqlite:// or postgres:// (got scheme %q)" (regexReplaceAll "^([^:]*).*$" $dsn "$1")) }}
{{- end }}
{{- end }}
{{- if not (has $driver (list "sqlite" "postgres")) }}
{{- fail (printf "database.driver must be sqlite or postgres, not %q" $driver) }}
{{- end }}
{{- $driver }}
{{- end }}

{{/*
Checks that stop a release an operator would regret. Included by the Deployment, so that any
`helm template/install/upgrade` fails with the message.
*/}}
{{- define "gatekeeper.validate" -}}
{{- $driver := include "gatekeeper.dbDriver" . }}
{{- if not (has .Values.mode (list "sidecar" "decisions")) }}
{{- fail (printf "mode must be sidecar or decisions, not %q" .Values.mode) }}
{{- end }}
{{- if and (eq $driver "sqlite") (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "replicaCount=%d needs PostgreSQL: with SQLite every pod would have its own database file. Set database.dsn to postgres://... or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq $driver "sqlite") .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled needs PostgreSQL: with SQLite every pod would have its own database file. Set database.dsn to postgres://... or autoscaling.enabled=false." }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if not (dig "requests" "cpu" "" (.Values.resources | default dict)) }}
{{- fail "autoscaling.enabled needs resources.requests.cpu: the HPA scales on CPU utilisation of the request" }}
{{- end }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set either minAvailable or maxUnavailable, not both (null the other)" }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- if and (eq $driver "postgres") (or (not .Values.secrets.cookie) (not .Values.secrets.cipher)) }}
{{- fail "secrets.cookie and secrets.cipher (or secrets.existingSecret) are required on PostgreSQL: every replica must share them, so the chart does not generate them" }}
{{- end }}
{{- if and .Values.secrets.cookie (lt (len .Values.secrets.cookie) 16) }}
{{- fail "secrets.cookie must be at least 16 characters" }}
{{- end }}
{{- if and .Values.secrets.cipher (ne (len .Values.secrets.cipher) 32) }}
{{- fail "secrets.cipher must be exactly 32 characters" }}
{{- end }}
{{- end }}
{{- if and (not .Values.rules) (not (dig "access_rules" "repositories" "" (.Values.config | default dict))) }}
{{- fail "rules is empty and config.access_rules.repositories is not set: gatekeeper would never become ready without access rules" }}
{{- end }}
{{- end }}

{{/* gatekeeper.yaml: .Values.config, with access_rules.repositories defaulting to the mounted rules. */}}
{{- define "gatekeeper.configYaml" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $rules := get $config "access_rules" | default dict }}
{{- if not (hasKey $rules "repositories") }}
{{- $_ := set $rules "repositories" (list "file:///etc/gatekeeper/rules/") }}
{{- end }}
{{- $_ := set $config "access_rules" $rules }}
{{- $serve := get $config "serve" | default dict }}
{{- if not (hasKey $serve "workers") }}
{{- $_ := set $serve "workers" (include "gatekeeper.workers" . | int) }}
{{- end }}
{{- $_ := set $config "serve" $serve }}
{{- toYaml $config }}
{{- end }}

{{/* serve.workers from the CPU limit: one worker process per whole CPU (rounded up); 1 without a limit. */}}
{{- define "gatekeeper.workers" -}}
{{- $cpu := toString (dig "limits" "cpu" "" (.Values.resources | default dict)) -}}
{{- if not $cpu -}}
1
{{- else if hasSuffix "m" $cpu -}}
{{ div (add (trimSuffix "m" $cpu | atoi) 999) 1000 | max 1 }}
{{- else -}}
{{ ceil (float64 $cpu) | int | max 1 }}
{{- end -}}
{{- end }}

{{/* data of the config ConfigMap: gatekeeper.yaml and the identity schemas. */}}
{{- define "gatekeeper.configData" -}}
gatekeeper.yaml: |
{{- include "gatekeeper.configYaml" . | nindent 2 }}
{{- range $name, $schema := .Values.identitySchemas }}
{{ $name }}: |
{{- $schema | trim | nindent 2 }}
{{- end }}
{{- end }}

{{/* data of the rules ConfigMap: one key per rules file. */}}
{{- define "gatekeeper.rulesData" -}}
{{- range $name, $rules := .Values.rules }}
{{ $name }}: |
{{- if kindIs "string" $rules }}
{{- $rules | trim | nindent 2 }}
{{- else }}
{{- toYaml $rules | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The volume mounted at /etc/gatekeeper: gatekeeper.yaml, schemas/, rules/ and keys/.
Call with (dict "root" $ "config" NAME "rules" NAME "jwks" BOOL).
*/}}
{{- define "gatekeeper.configVolume" -}}
{{- $root := .root -}}
- name: config
  projected:
    sources:
      - configMap:
          name: {{ .config }}
          items:
            - key: gatekeeper.yaml
              path: gatekeeper.yaml
            {{- range $name, $_ := $root.Values.identitySchemas }}
            - key: {{ $name }}
              path: schemas/{{ $name }}
            {{- end }}
      {{- if $root.Values.rules }}
      - configMap:
          name: {{ .rules }}
          items:
            {{- range $name, $_ := $root.Values.rules }}
            - key: {{ $name }}
              path: rules/{{ $name }}
            {{- end }}
      {{- end }}
      {{- if and .jwks (include "gatekeeper.jwksSecretName" $root) }}
      - secret:
          name: {{ include "gatekeeper.jwksSecretName" $root }}
          items:
            - key: {{ $root.Values.jwks.key }}
              path: keys/{{ $root.Values.jwks.key }}
      {{- end }}
{{- end }}

{{/* Environment: DSN and secrets from the Secret, then extraEnv. Call with (dict "root" $ "secret" NAME). */}}
{{- define "gatekeeper.env" -}}
- name: DSN
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: dsn
- name: SECRETS_COOKIE_0
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: secretsCookie
- name: SECRETS_CIPHER_0
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: secretsCipher
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Secret data: values as given; on SQLite, missing secrets are read back from the cluster or generated. */}}
{{- define "gatekeeper.secretData" -}}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace (include "gatekeeper.fullname" .)).data | default dict }}
dsn: {{ .Values.database.dsn | b64enc | quote }}
secretsCookie: {{ if .Values.secrets.cookie }}{{ .Values.secrets.cookie | b64enc | quote }}{{ else }}{{ get $existing "secretsCookie" | default (randAlphaNum 32 | b64enc) | quote }}{{ end }}
secretsCipher: {{ if .Values.secrets.cipher }}{{ .Values.secrets.cipher | b64enc | quote }}{{ else }}{{ get $existing "secretsCipher" | default (randAlphaNum 32 | b64enc) | quote }}{{ end }}
{{- end }}

{{/* Container security context plus the things every gatekeeper container shares. */}}
{{- define "gatekeeper.containerBase" -}}
image: {{ include "gatekeeper.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end }}
