output "lb_ip_address" {
  description = "Global IPv4 address of the HTTPS load balancer (the DNS record points here)."
  value       = google_compute_global_address.lb.address
}

output "trusted_proxies" {
  description = "Addresses and ranges the rate limiter trusts for X-Forwarded-For (APP__RATE_LIMIT__TRUSTED_PROXIES via instance metadata)."
  value       = local.trusted_proxies
}

output "api_url" {
  description = "Public base URL of the API."
  value       = "https://${var.domain}"
}

output "instance_group" {
  description = "Regional managed instance group running the API."
  value       = google_compute_region_instance_group_manager.splitlyr.instance_group
}

output "instance_template" {
  description = "Instance template currently targeted by the MIG."
  value       = google_compute_instance_template.splitlyr.self_link_unique
}

output "instance_service_account" {
  description = "Service account of the API instances."
  value       = google_service_account.instance.email
}

output "source_image" {
  description = "Image (resolved from the image family) used by the current template."
  value       = data.google_compute_image.splitlyr.self_link
}

output "jwt_secret_id" {
  description = "Secret Manager secret to add the JWT secret version to."
  value       = google_secret_manager_secret.jwt.secret_id
}

output "mongo_uri_secret_id" {
  description = "Secret Manager secret to add the MongoDB URI version to."
  value       = google_secret_manager_secret.mongo_uri.secret_id
}
