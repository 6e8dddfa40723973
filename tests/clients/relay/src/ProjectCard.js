// Compiled by relay-compiler over schema.graphql (never run as is): a @refetchable
// fragment on Project (needs `Node` and `node(id:)`) and @connection lists.
graphql`
  fragment ProjectCard_project on Project
  @refetchable(queryName: "ProjectCardRefetchQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 2 }, cursor: { type: "String" }) {
    id
    name
    startDate
    budget {
      amount
      currency
    }
    tasks(first: $count, after: $cursor) @connection(key: "ProjectCard_tasks") {
      edges {
        node {
          id
          title
          dueDate
          createdAt
        }
      }
    }
  }
`;

graphql`
  query ProjectListQuery($first: Int!, $after: String) {
    viewer {
      user {
        __typename
        ... on User {
          id
          name
        }
        ... on ExternalUser {
          id
          name
        }
      }
    }
    accounts(first: 1) {
      nodes {
        id
        name
      }
    }
    projects(first: $first, after: $after) @connection(key: "ProjectList_projects") {
      edges {
        node {
          id
          ...ProjectCard_project
        }
      }
    }
  }
`;
