/*
 * Every GraphQL document trigger-ops sends to Railway. Each is a plain string marked `/* GraphQL *\/` so that
 * test/contract/railway-schema.test.ts finds and validates it against vendor/railway/schema.json.
 */

export const PROJECT_TOKEN_QUERY = /* GraphQL */ `
  query ProjectTokenContext {
    projectToken {
      projectId
      environmentId
      project {
        id
        name
      }
      environment {
        id
        name
      }
    }
  }
`;

export const PROJECT_QUERY = /* GraphQL */ `
  query Project($id: String!) {
    project(id: $id) {
      id
      name
      services(first: 100) {
        edges {
          node {
            id
            name
          }
        }
      }
      environments(first: 100) {
        edges {
          node {
            id
            name
          }
        }
      }
    }
  }
`;

export const ENVIRONMENT_QUERY = /* GraphQL */ `
  query Environment($id: String!, $projectId: String) {
    environment(id: $id, projectId: $projectId) {
      id
      name
      projectId
      serviceInstances(first: 100) {
        edges {
          node {
            id
            serviceId
            serviceName
            source {
              image
            }
            domains {
              serviceDomains {
                domain
              }
              customDomains {
                domain
              }
            }
            latestDeployment {
              id
              status
              createdAt
            }
          }
        }
      }
    }
  }
`;

export const VARIABLES_QUERY = /* GraphQL */ `
  query Variables($projectId: String!, $environmentId: String!, $serviceId: String, $unrendered: Boolean) {
    variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: $unrendered)
  }
`;

export const VARIABLE_COLLECTION_UPSERT_MUTATION = /* GraphQL */ `
  mutation VariableCollectionUpsert($input: VariableCollectionUpsertInput!) {
    variableCollectionUpsert(input: $input)
  }
`;

export const VARIABLE_DELETE_MUTATION = /* GraphQL */ `
  mutation VariableDelete($input: VariableDeleteInput!) {
    variableDelete(input: $input)
  }
`;

export const DEPLOYMENTS_QUERY = /* GraphQL */ `
  query Deployments($input: DeploymentListInput!, $first: Int) {
    deployments(input: $input, first: $first) {
      edges {
        node { id status createdAt updatedAt serviceId environmentId canRedeploy meta }
      }
    }
  }
`;

export const DEPLOYMENT_QUERY = /* GraphQL */ `
  query Deployment($id: String!) {
    deployment(id: $id) { id status createdAt updatedAt serviceId environmentId canRedeploy meta }
  }
`;

export const DEPLOYMENT_LOGS_QUERY = /* GraphQL */ `
  query DeploymentLogs($deploymentId: String!, $filter: String, $limit: Int, $startDate: DateTime, $endDate: DateTime) {
    deploymentLogs(deploymentId: $deploymentId, filter: $filter, limit: $limit, startDate: $startDate, endDate: $endDate) {
      timestamp
      message
      severity
    }
  }
`;

export const SERVICE_INSTANCE_DEPLOY_MUTATION = /* GraphQL */ `
  mutation ServiceInstanceDeploy($environmentId: String!, $serviceId: String!) {
    serviceInstanceDeployV2(environmentId: $environmentId, serviceId: $serviceId)
  }
`;

export const DEPLOYMENT_REDEPLOY_MUTATION = /* GraphQL */ `
  mutation DeploymentRedeploy($id: String!) {
    deploymentRedeploy(id: $id) { id status createdAt updatedAt serviceId environmentId canRedeploy meta }
  }
`;

export const SERVICE_INSTANCE_UPDATE_MUTATION = /* GraphQL */ `
  mutation ServiceInstanceUpdate($environmentId: String!, $serviceId: String!, $input: ServiceInstanceUpdateInput!) {
    serviceInstanceUpdate(environmentId: $environmentId, serviceId: $serviceId, input: $input)
  }
`;
