package io.quarry.config;

import io.quarry.config.validation.AesKey;
import io.quarry.config.validation.ProdReady;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.NestedConfigurationProperty;
import org.springframework.validation.annotation.Validated;

/**
 * Every setting of Quarry, bound from {@code quarry.*} and validated at start-up. Defaults live in
 * {@code application.yaml}; each key can be overridden by an environment variable (relaxed binding:
 * {@code quarry.rabbitmq.host} is {@code QUARRY_RABBITMQ_HOST}). In the {@code prod} profile {@link
 * ProdReady} also refuses weak console passwords and default broker and database credentials.
 *
 * @param environment suffix of every queue and exchange name, e.g. {@code dev} or {@code prod}
 * @param platform the platform API that miners call
 * @param rabbitmq broker connection
 * @param database PostgreSQL connection
 * @param security console users and the keys that encrypt users' access tokens
 * @param streams the mined streams by name ({@code posts}, {@code ads}, {@code ad-clicks})
 * @param scheduler the clustered Quartz scheduler
 * @param jobs the maintenance jobs by name ({@code clean-up-sent-email}, {@code
 *     resend-error-email})
 * @param outbox the transactional outbox relay
 * @param notification integration-event consumers and the email sender
 * @param mining miners, subscribers and dead-letter handling
 * @param http the HTTP API (request body limit)
 */
@Validated
@ProdReady
@ConfigurationProperties("quarry")
public record QuarryProperties(
    @NotBlank
        @Pattern(
            regexp = "[a-z0-9][a-z0-9_-]{0,31}",
            message =
                "must be 1-32 lower-case letters, digits, '-' or '_' (it ends every queue name)")
        String environment,
    @NotNull @Valid Platform platform,
    @NotNull @Valid Rabbitmq rabbitmq,
    @NotNull @Valid Database database,
    @NotNull @Valid Security security,
    @NotEmpty
        Map<
                @Pattern(
                    regexp = "[a-z][a-z0-9-]{0,31}",
                    message = "stream names are lower-case kebab-case")
                String,
                @Valid StreamProperties>
            streams,
    @NotNull @Valid @NestedConfigurationProperty SchedulerProperties scheduler,
    @NotNull
        Map<
                @Pattern(regexp = "[a-z][a-z0-9-]{0,62}", message = "job names are kebab-case")
                String,
                @Valid JobProperties>
            jobs,
    @NotNull @Valid @NestedConfigurationProperty OutboxProperties outbox,
    @NotNull @Valid @NestedConfigurationProperty NotificationProperties notification,
    @NotNull @Valid @NestedConfigurationProperty MiningProperties mining,
    @NotNull @Valid @NestedConfigurationProperty HttpProperties http) {

  /**
   * The platform API.
   *
   * @param baseUrl base URL of the platform API, e.g. {@code https://api.example.com}
   * @param connectTimeout TCP connect timeout toward the API
   * @param readTimeout time to wait for a page before the call counts as a transient failure
   * @param itemsPath JSON Pointer to the array of items in a page
   * @param nextMarkerPath JSON Pointer to the next page's marker
   * @param hasMorePath JSON Pointer to the has-more flag
   * @param itemIdField field of an item that identifies it
   * @param tokenPlacement how the user's token is sent: {@code header} (Bearer) or {@code query}
   * @param tokenParameter query parameter name when the token goes in the query
   * @param simulator start the simulated platform API inside Quarry on the base URL's port
   * @param simulatorFaults faults of that simulator's users, each {@code user=fault} (e.g. {@code
   *     demo-user-3=unauthorized}; see {@code UserScenario#fault}); none when empty
   */
  public record Platform(
      @NotNull URI baseUrl,
      @NotNull Duration connectTimeout,
      @NotNull Duration readTimeout,
      @NotBlank @Pattern(regexp = "/.*", message = "must be a JSON Pointer") String itemsPath,
      @NotBlank @Pattern(regexp = "/.*", message = "must be a JSON Pointer") String nextMarkerPath,
      @NotBlank @Pattern(regexp = "/.*", message = "must be a JSON Pointer") String hasMorePath,
      @NotBlank String itemIdField,
      @NotBlank @Pattern(regexp = "header|query", message = "must be header or query")
          String tokenPlacement,
      @NotBlank String tokenParameter,
      boolean simulator,
      List<String> simulatorFaults) {

    public Platform {
      simulatorFaults = simulatorFaults == null ? List.of() : List.copyOf(simulatorFaults);
    }
  }

  /**
   * RabbitMQ connection.
   *
   * @param host broker host
   * @param port AMQP port (5671 is usual with TLS)
   * @param username broker user
   * @param password broker password
   * @param virtualHost virtual host
   * @param tls connect over TLS, verifying the server certificate and host name
   * @param managementPort port of the management HTTP API on each node's host (HTTPS when tls),
   *     read for queue depths, consumers and rates
   * @param managementPollInterval how often the queue figures are read from the management API
   * @param addresses the nodes of a cluster as {@code host:port,host:port}: Quarry connects to the
   *     first that answers and, when its node goes, reconnects to another; empty means host and
   *     port
   * @param managementAddresses the management APIs as {@code host:port,host:port}, read in turn
   *     (another one when the one read goes); empty means each AMQP node's host on {@code
   *     managementPort}
   * @param queueTypes the queue type of each kind of queue: {@code classic} (one node) or {@code
   *     quorum} (replicated over the cluster, the production choice)
   */
  public record Rabbitmq(
      @NotBlank String host,
      @Min(1) @Max(65535) int port,
      @NotBlank String username,
      @NotNull String password,
      @NotBlank String virtualHost,
      boolean tls,
      @Min(1) @Max(65535) int managementPort,
      @NotNull Duration managementPollInterval,
      @Pattern(
              regexp = "(\\s*[^\\s,:]+:\\d{1,5}\\s*(,\\s*[^\\s,:]+:\\d{1,5}\\s*)*)?",
              message = "must be host:port,host:port (or empty to use host and port)")
          String addresses,
      @Pattern(
              regexp = "(\\s*[^\\s,:]+:\\d{1,5}\\s*(,\\s*[^\\s,:]+:\\d{1,5}\\s*)*)?",
              message =
                  "must be host:port,host:port (or empty for each node's host on"
                      + " management-port)")
          String managementAddresses,
      @NotNull @Valid QueueTypes queueTypes) {

    /** How a queue is kept: on one node, or replicated over the cluster (Raft). */
    public enum QueueType {
      CLASSIC,
      QUORUM
    }

    /**
     * Queue type per kind of queue.
     *
     * @param work the mining, parser and data-subscriber queues
     * @param events the integration-event queues of the notification side (on quorum, a second
     *     queue takes the high-priority events, as quorum queues have no priorities)
     * @param deadLetter the {@code .dlq} queues
     * @param delay the delay tiers that hold a message for a while and then send it back (TTL)
     */
    public record QueueTypes(
        @NotNull QueueType work,
        @NotNull QueueType events,
        @NotNull QueueType deadLetter,
        @NotNull QueueType delay) {

      /** Every kind classic: the single-node default of development and tests. */
      public static final QueueTypes CLASSIC =
          new QueueTypes(
              QueueType.CLASSIC, QueueType.CLASSIC, QueueType.CLASSIC, QueueType.CLASSIC);
    }

    /**
     * The management APIs to read in turn, as {@code host:port}: {@link #managementAddresses} when
     * set, else the host of each AMQP address (once each) on {@link #managementPort}.
     */
    public java.util.List<String> managementHosts() {
      if (managementAddresses != null && !managementAddresses.isBlank()) {
        return java.util.Arrays.stream(managementAddresses.split(","))
            .map(String::trim)
            .distinct()
            .toList();
      }
      return java.util.Arrays.stream(connectionAddresses().split(","))
          .map(address -> address.trim().substring(0, address.trim().lastIndexOf(':')))
          .distinct()
          .map(node -> node + ":" + managementPort)
          .toList();
    }

    /** The AMQP addresses to try in turn: {@link #addresses} when set, else host and port. */
    public String connectionAddresses() {
      return addresses == null || addresses.isBlank() ? host + ":" + port : addresses.trim();
    }

    @Override
    public String toString() {
      return "Rabbitmq["
          + username
          + "@"
          + connectionAddresses()
          + virtualHost
          + ", tls="
          + tls
          + ", queueTypes="
          + queueTypes
          + "]";
    }
  }

  /**
   * PostgreSQL connection.
   *
   * @param host database host
   * @param port database port
   * @param name database name
   * @param username database user
   * @param password database password (may be empty with trust authentication)
   * @param schema schema that holds Quarry's tables; Flyway creates and migrates it
   * @param tls connect with {@code sslmode=verify-full} (certificate and host name verified)
   * @param poolSize maximum connections in the pool (Quartz needs its threads + 3)
   * @param connectTimeout how long a caller waits for a connection before failing
   * @param probeInterval how often a background probe borrows a connection for readiness
   * @param probeTimeout readiness is DOWN once a probe has failed or been in flight longer than
   *     this
   */
  public record Database(
      @NotBlank String host,
      @Min(1) @Max(65535) int port,
      @NotBlank String name,
      @NotBlank String username,
      @NotNull String password,
      @NotBlank
          @Pattern(
              regexp = "[a-z_][a-z0-9_]{0,62}",
              message = "must be a lower-case SQL identifier")
          String schema,
      boolean tls,
      @Min(2) @Max(200) int poolSize,
      @NotNull Duration connectTimeout,
      @NotNull @DurationMin(millis = 100) Duration probeInterval,
      @NotNull @DurationMin(seconds = 1) Duration probeTimeout) {

    @Override
    public String toString() {
      return "Database[" + username + "@" + host + ":" + port + "/" + name + "." + schema + "]";
    }
  }

  /**
   * Who may use the console, the dashboard and the operations API, and the token key.
   *
   * @param admin the administrator (may trigger, pause, replay)
   * @param viewer the read-only user
   * @param tokenKey Base64 of the 32-byte AES key that encrypts users' access tokens at rest (the
   *     current key of the ring: every token written is encrypted with it)
   * @param previousTokenKeys Base64 AES keys that encrypted tokens before the current one: they
   *     only decrypt, until {@code POST /api/admin/token-keys/re-encrypt} has moved every token to
   *     the current key; none by default
   * @param allowDefaultServiceCredentials let the prod profile start with the RabbitMQ user {@code
   *     guest} or an empty database password (a warning is logged); off by default
   * @param apiClients machine clients of the operations API, each {@code name:role:sha256} (role
   *     {@code admin} or {@code viewer}, the hex SHA-256 of the client's bearer token); none by
   *     default
   * @param loginThrottle how failed logins slow down further attempts
   */
  public record Security(
      @NotNull @Valid Account admin,
      @NotNull @Valid Account viewer,
      @AesKey String tokenKey,
      List<@AesKey String> previousTokenKeys,
      boolean allowDefaultServiceCredentials,
      List<String> apiClients,
      @NotNull @Valid @NestedConfigurationProperty LoginThrottleProperties loginThrottle) {

    public Security {
      // Not List.copyOf: a null entry must reach validation (and its message), not fail binding.
      previousTokenKeys =
          previousTokenKeys == null
              ? List.of()
              : java.util.Collections.unmodifiableList(
                  new java.util.ArrayList<>(previousTokenKeys));
      apiClients = apiClients == null ? List.of() : List.copyOf(apiClients);
    }

    @Override
    public String toString() {
      return "Security[admin="
          + admin
          + ", viewer="
          + viewer
          + ", tokenKey=****, previousTokenKeys="
          + previousTokenKeys.size()
          + " masked, allowDefaultServiceCredentials="
          + allowDefaultServiceCredentials
          + ", apiClients="
          + apiClients.stream().map(client -> client.split(":", 2)[0]).toList()
          + ", loginThrottle="
          + loginThrottle
          + "]";
    }
  }

  /**
   * A console account.
   *
   * @param username login name
   * @param password password in clear or pre-encoded as {@code {bcrypt}...}; required in prod,
   *     where it must be 12+ characters in clear or a {@code {bcrypt}} or {@code {pbkdf2}} hash
   */
  public record Account(@NotBlank String username, String password) {
    @Override
    public String toString() {
      return "Account[" + username + "]";
    }
  }
}
