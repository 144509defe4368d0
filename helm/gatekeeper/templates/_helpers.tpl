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
Checks that stop a release an operator would regret. Included by the config ConfigMap (rendered in every mode), so that any
`helm template/install/upgrade` fails with the message.
*/}}
{{- define "gatekeeper.validate" -}}
{{- $driver := include "gatekeeper.dbDriver" . }}
{{- if not (has .Values.mode (list "proxy" "sidecar" "decisions")) }}
{{- fail (printf "mode must be proxy, sidecar or decisions, not %q" .Values.mode) }}
{{- end }}
{{- if eq .Values.mode "sidecar" }}
{{- range $key := list "autoscaling" "podDisruptionBudget" "networkPolicy" "ingress" "serviceMonitor" }}
{{- if (get $.Values $key).enabled }}
{{- fail (printf "mode=sidecar renders no Deployment or Services of its own, so %s.enabled has nothing to act on: set it false and give the app's own objects the HPA, budget, policy, Ingress or ServiceMonitor" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- $config := .Values.config | default dict }}
{{- range $key := list "dsn" "secrets" }}
{{- if hasKey $config $key }}
{{- fail (printf "config.%s would be stored in a ConfigMap, which is not secret: remove it from config and use %s" $key (ternary "database.dsn or secrets.existingSecret" "secrets.cookie/secrets.cipher or secrets.existingSecret" (eq $key "dsn"))) }}
{{- end }}
{{- end }}
{{- if hasKey (dig "courier" "smtp" dict $config) "connection_uri" }}
{{- fail "config.courier.smtp.connection_uri would be stored in a ConfigMap, which is not secret: remove it from config and use courier.smtp.connectionUri or secrets.existingSecret (key secrets.keys.smtpConnectionUri)" }}
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
{{- $root := . }}
{{- range $name, $rules := .Values.rules }}
{{ $name }}: |
{{- if kindIs "string" $rules }}
{{- $rules | trim | nindent 2 }}
{{- else if eq $root.Values.mode "sidecar" }}
{{- include "gatekeeper.sidecarRules" (dict "root" $root "file" $name "rules" $rules) | nindent 2 }}
{{- else }}
{{- toYaml $rules | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
mode=sidecar: the app is in the same pod. A rule without upstream.url gets http://127.0.0.1:<sidecar.appPort>;
a rule sending outside the pod is refused (rules given as strings are taken as they are).
Call with (dict "root" $ "file" NAME "rules" LIST).
*/}}
{{- define "gatekeeper.sidecarRules" -}}
{{- $app := printf "http://127.0.0.1:%d" (int .root.Values.sidecar.appPort) }}
{{- $file := .file }}
{{- $out := list }}
{{- range $rule := .rules }}
{{- $rule = deepCopy $rule }}
{{- $upstream := get $rule "upstream" | default dict }}
{{- $url := get $upstream "url" | default "" }}
{{- if not $url }}
{{- $_ := set $upstream "url" $app }}
{{- else if not (regexMatch "^https?://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]+)?(/.*)?$" $url) }}
{{- fail (printf "mode=sidecar: rule %q in rules.%s sends to %s, outside the pod; the app in the same pod is %s (sidecar.appPort): set upstream.url to that or leave it out" (toString (get $rule "id")) $file $url $app) }}
{{- end }}
{{- $_ := set $rule "upstream" $upstream }}
{{- $out = append $out $rule }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
The volume mounted at /etc/gatekeeper: gatekeeper.yaml, schemas/, rules/ and keys/.
Call with (dict "root" $ "config" NAME "rules" NAME "jwks" BOOL), and "name" for a volume name other than config.
*/}}
{{- define "gatekeeper.configVolume" -}}
{{- $root := .root -}}
- name: {{ .name | default "config" }}
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

{{/*
Environment: DSN, secrets and the SMTP connection URI from the Secret, then extraEnv.
Call with (dict "root" $ "secret" NAME).
*/}}
{{- define "gatekeeper.env" -}}
{{- $keys := .root.Values.secrets.keys -}}
- name: DSN
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $keys.dsn }}
- name: SECRETS_COOKIE_0
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $keys.cookie }}
- name: SECRETS_CIPHER_0
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $keys.cipher }}
{{- if or .root.Values.secrets.existingSecret .root.Values.courier.smtp.connectionUri }}
- name: COURIER_SMTP_CONNECTION_URI
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $keys.smtpConnectionUri }}
      {{- if .root.Values.secrets.existingSecret }}
      # Your Secret may hold no SMTP URI (no e-mail, or courier.smtp without credentials in config).
      optional: true
      {{- end }}
{{- end }}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Secret data under secrets.keys: values as given; on SQLite, missing secrets are read back from the
cluster or generated. The SMTP connection URI only when courier.smtp.connectionUri is set.
*/}}
{{- define "gatekeeper.secretData" -}}
{{- $keys := .Values.secrets.keys }}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace (include "gatekeeper.fullname" .)).data | default dict }}
{{ $keys.dsn }}: {{ .Values.database.dsn | b64enc | quote }}
{{ $keys.cookie }}: {{ if .Values.secrets.cookie }}{{ .Values.secrets.cookie | b64enc | quote }}{{ else }}{{ get $existing $keys.cookie | default (randAlphaNum 32 | b64enc) | quote }}{{ end }}
{{ $keys.cipher }}: {{ if .Values.secrets.cipher }}{{ .Values.secrets.cipher | b64enc | quote }}{{ else }}{{ get $existing $keys.cipher | default (randAlphaNum 32 | b64enc) | quote }}{{ end }}
{{- with .Values.courier.smtp.connectionUri }}
{{ $keys.smtpConnectionUri }}: {{ . | b64enc | quote }}
{{- end }}
{{- end }}

{{/* Container security context plus the things every gatekeeper container shares. */}}
{{- define "gatekeeper.containerBase" -}}
image: {{ include "gatekeeper.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end }}

{{/*
The serving container, as a list item. Call with (dict "root" $ "sidecar" BOOL). In an app's pod (sidecar)
its port and volume names are prefixed (gk-proxy, gatekeeper-config) so they cannot clash with the app's,
it carries the pod security settings itself, and on SQLite serve migrates the pod's own database first
(there is no init container to do it).
*/}}
{{- define "gatekeeper.serverContainer" -}}
{{- $root := .root }}
{{- $port := ternary "gk-" "" .sidecar }}
{{- $volume := ternary "gatekeeper-" "" .sidecar }}
{{- $sqlite := eq (include "gatekeeper.dbDriver" $root) "sqlite" }}
{{- $security := deepCopy $root.Values.securityContext }}
{{- if .sidecar }}
{{- $security = merge $security (pick $root.Values.podSecurityContext "runAsUser" "runAsGroup" "seccompProfile") }}
{{- end -}}
- name: gatekeeper
  image: {{ include "gatekeeper.image" $root | quote }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  securityContext:
    {{- toYaml $security | nindent 4 }}
  args: ["serve", "--config", "/etc/gatekeeper/gatekeeper.yaml"{{ if and .sidecar $sqlite }}, "--migrate"{{ end }}]
  env:
    {{- include "gatekeeper.env" (dict "root" $root "secret" (include "gatekeeper.secretName" $root)) | nindent 4 }}
  {{- with $root.Values.extraEnvFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    {{- range $listener := list "proxy" "public" "admin" "api" "metrics" }}
    - name: {{ $port }}{{ $listener }}
      containerPort: {{ include "gatekeeper.listenerPort" $listener }}
      protocol: TCP
    {{- end }}
  {{- range $name := list "startupProbe" "livenessProbe" "readinessProbe" }}
  {{- with get $root.Values $name }}
  {{- $probe := deepCopy . }}
  {{- if and $probe.httpGet (kindIs "string" $probe.httpGet.port) }}
  {{- $_ := set $probe.httpGet "port" (printf "%s%s" $port $probe.httpGet.port) }}
  {{- end }}
  {{ $name }}:
    {{- toYaml $probe | nindent 4 }}
  {{- end }}
  {{- end }}
  {{- if $root.Values.preStopSleepSeconds }}
  lifecycle:
    preStop:
      exec:
        command: ["python", "-c", "import time; time.sleep({{ int $root.Values.preStopSleepSeconds }})"]
  {{- end }}
  resources:
    {{- toYaml $root.Values.resources | nindent 4 }}
  volumeMounts:
    - name: {{ $volume }}config
      mountPath: /etc/gatekeeper
      readOnly: true
    - name: {{ $volume }}tmp
      mountPath: /tmp
    {{- if $sqlite }}
    - name: {{ $volume }}data
      mountPath: /var/lib/gatekeeper
    {{- end }}
    {{- with $root.Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/* The container port of a listener (the image's EXPOSE; the chart does not move them). */}}
{{- define "gatekeeper.listenerPort" -}}
{{- get (dict "proxy" "4455" "public" "4433" "admin" "4434" "api" "4456" "metrics" "9000") . }}
{{- end }}

{{/* The volumes the serving container mounts, as list items. Call with (dict "root" $ "sidecar" BOOL). */}}
{{- define "gatekeeper.serverVolumes" -}}
{{- $root := .root }}
{{- $volume := ternary "gatekeeper-" "" .sidecar }}
{{- $fullname := include "gatekeeper.fullname" $root }}
{{- include "gatekeeper.configVolume" (dict "root" $root "name" (printf "%sconfig" $volume) "config" (printf "%s-config" $fullname) "rules" (printf "%s-rules" $fullname) "jwks" true) }}
- name: {{ $volume }}tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if eq (include "gatekeeper.dbDriver" $root) "sqlite" }}
- name: {{ $volume }}data
  {{- if $root.Values.database.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ $root.Values.database.persistence.existingClaim | default (printf "%s-data" $fullname) }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- with $root.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
