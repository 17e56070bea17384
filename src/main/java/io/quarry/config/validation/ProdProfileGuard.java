package io.quarry.config.validation;

import io.quarry.config.InvalidConfigurationException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Profiles;

/**
 * Refuses {@code prod} beside a profile that ships default passwords and a fixed token key ({@code
 * dev}, {@code test}): with {@code prod,dev} the dev values would pass every password rule. Runs
 * once the profiles are known (after the config data post-processor), before any bean exists.
 */
public class ProdProfileGuard implements EnvironmentPostProcessor {

  /** Profiles whose configuration files set console passwords or the token key. */
  static final Set<String> WITH_DEV_DEFAULTS = Set.of("dev", "test");

  @Override
  public void postProcessEnvironment(
      ConfigurableEnvironment environment, SpringApplication application) {
    if (!environment.acceptsProfiles(Profiles.of("prod"))) {
      return;
    }
    List<String> clashing =
        Arrays.stream(environment.getActiveProfiles())
            .filter(WITH_DEV_DEFAULTS::contains)
            .distinct()
            .toList();
    if (!clashing.isEmpty()) {
      throw new InvalidConfigurationException(
          "spring.profiles.active",
          "must not combine prod with "
              + String.join(",", clashing)
              + " (its default passwords and token key would apply); accepted: prod alone or"
              + " with profiles that set no credentials, e.g. prod,json");
    }
  }
}
