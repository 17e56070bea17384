package io.quarry.config.validation;

import io.quarry.config.QuarryProperties;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;
import org.springframework.core.env.Profiles;

/**
 * Checks {@link ProdReady}. Spring creates it with the application's environment (configuration
 * properties are validated by a factory that autowires validators), so it knows the profiles. Each
 * problem is reported on its own key, all of them at once.
 */
public class ProdReadyValidator implements ConstraintValidator<ProdReady, QuarryProperties> {

  static final String OPT_OUT = "quarry.security.allow-default-service-credentials";

  private static final Logger log = LoggerFactory.getLogger(ProdReadyValidator.class);

  private final Environment environment;

  public ProdReadyValidator(Environment environment) {
    this.environment = environment;
  }

  @Override
  public boolean isValid(QuarryProperties properties, ConstraintValidatorContext context) {
    if (properties == null || !environment.acceptsProfiles(Profiles.of("prod"))) {
      return true;
    }
    List<String[]> problems = new ArrayList<>();
    QuarryProperties.Security security = properties.security();
    if (security != null) {
      password(security.admin(), "admin", problems);
      password(security.viewer(), "viewer", problems);
    }
    List<String[]> defaults = new ArrayList<>();
    if (properties.rabbitmq() != null && "guest".equals(properties.rabbitmq().username())) {
      defaults.add(
          new String[] {
            "rabbitmq.username",
            "must not be guest in the prod profile (RabbitMQ's well-known default administrator);"
                + " accepted: a broker user of Quarry's own, or "
                + OPT_OUT
                + "=true"
          });
    }
    if (properties.database() != null
        && properties.database().password() != null
        && properties.database().password().isBlank()) {
      defaults.add(
          new String[] {
            "database.password",
            "must not be empty in the prod profile; accepted: the database user's password, or "
                + OPT_OUT
                + "=true when the server authenticates otherwise (e.g. client certificates)"
          });
    }
    if (security != null && security.allowDefaultServiceCredentials()) {
      defaults.forEach(
          problem ->
              log.warn(
                  "quarry.{} is a default service credential; started anyway because {}=true",
                  problem[0],
                  OPT_OUT));
    } else {
      problems.addAll(defaults);
    }
    if (problems.isEmpty()) {
      return true;
    }
    context.disableDefaultConstraintViolation();
    for (String[] problem : problems) {
      var builder = context.buildConstraintViolationWithTemplate(escape(problem[1]));
      String[] path = problem[0].split("\\.");
      var node = builder.addPropertyNode(path[0]);
      for (int i = 1; i < path.length; i++) {
        node = node.addPropertyNode(path[i]);
      }
      node.addConstraintViolation();
    }
    return false;
  }

  private static void password(
      QuarryProperties.Account account, String name, List<String[]> problems) {
    String password = account == null ? null : account.password();
    Optional<String> problem = ProdCredentials.passwordProblem(password);
    problem.ifPresent(
        reason -> problems.add(new String[] {"security." + name + ".password", reason}));
  }

  /** Braces and dollars would be read as message expressions. */
  private static String escape(String message) {
    return message
        .replace("\\", "\\\\")
        .replace("{", "\\{")
        .replace("}", "\\}")
        .replace("$", "\\$");
  }
}
