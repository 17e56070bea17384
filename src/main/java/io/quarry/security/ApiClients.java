package io.quarry.security;

import io.quarry.config.InvalidConfigurationException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The machine clients of the operations API ({@code quarry.security.api-clients}): each one a name,
 * a role and the SHA-256 of its bearer token. Only the hash is configured, so neither the
 * configuration nor a heap dump of it holds a usable credential; a presented token is hashed and
 * compared in constant time with every client's hash.
 */
final class ApiClients {

  static final String KEY = "quarry.security.api-clients";

  /** A client's name as it appears in logs and audit lines. */
  private static final Pattern ENTRY =
      Pattern.compile("([a-z0-9][a-z0-9-]{0,62}):(admin|viewer):([0-9a-fA-F]{64})");

  /** One client: its name, the role it acts with and its token's hash. */
  record Client(String name, String role, byte[] tokenSha256) {}

  private final List<Client> clients;

  private ApiClients(List<Client> clients) {
    this.clients = List.copyOf(clients);
  }

  /**
   * Parses the configured entries; a malformed or repeated one stops start-up with a message that
   * names its position and never echoes the hash.
   */
  static ApiClients parse(List<String> entries) {
    List<Client> clients = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> hashes = new HashSet<>();
    for (int i = 0; i < entries.size(); i++) {
      String key = KEY + "[" + i + "]";
      Matcher entry = ENTRY.matcher(entries.get(i).trim());
      if (!entry.matches()) {
        throw new InvalidConfigurationException(
            key,
            "must be name:role:sha256 (name lower-case letters, digits and dashes; role admin or"
                + " viewer; sha256 the 64 hex digits of the token's SHA-256, e.g. from"
                + " printf %s \"$TOKEN\" | sha256sum)");
      }
      String name = entry.group(1);
      String hash = entry.group(3).toLowerCase(Locale.ROOT);
      if (!names.add(name)) {
        throw new InvalidConfigurationException(key, "repeats the client name " + name);
      }
      if (!hashes.add(hash)) {
        throw new InvalidConfigurationException(
            key, "has the same token as another client (each client needs a token of its own)");
      }
      clients.add(
          new Client(name, entry.group(2).toUpperCase(Locale.ROOT), HexFormat.of().parseHex(hash)));
    }
    return new ApiClients(clients);
  }

  boolean isEmpty() {
    return clients.isEmpty();
  }

  int size() {
    return clients.size();
  }

  /** The client whose token this is, comparing every hash so the answer takes the same time. */
  Optional<Client> identify(String token) {
    byte[] presented = sha256(token);
    Client found = null;
    for (Client client : clients) {
      if (MessageDigest.isEqual(client.tokenSha256(), presented)) {
        found = client;
      }
    }
    return Optional.ofNullable(found);
  }

  static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is unavailable", e);
    }
  }
}
