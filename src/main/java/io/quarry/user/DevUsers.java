package io.quarry.user;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.annotation.Profile;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * The dev profile's demo tenants: 20 users with tokens, so a fresh local run has someone to mine
 * from the simulated platform API. Idempotent (upsert by external id).
 */
@Component
@Profile("dev")
public class DevUsers {

  private static final Logger log = LoggerFactory.getLogger(DevUsers.class);
  private static final int COUNT = 20;

  private final UserRepository users;

  public DevUsers(UserRepository users) {
    this.users = users;
  }

  @EventListener(ApplicationReadyEvent.class)
  public void seed() {
    for (int i = 1; i <= COUNT; i++) {
      users.upsert("demo-user-" + i, "demo-token-" + i);
    }
    log.info("dev profile: {} demo users ready for the simulated platform API", COUNT);
  }
}
